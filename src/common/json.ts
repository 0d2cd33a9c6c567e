// Plain-data helpers for values read from users (notebook literals, `-p` values).

/**
 * Sets `key` as an own property even when it is `__proto__`: plain assignment would change
 * the object's prototype instead, and the key would vanish from the JSON.
 */
export function setOwn<T>(object: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
}
