// The page shell every Flowbook webview uses, so the security policy lives in one place:
// CSP `default-src 'none'`, styles and fonts only from the extension, one script allowed
// by a fresh nonce. Data reaches the page by postMessage, never through this HTML.

import * as crypto from 'node:crypto';
import * as vscode from 'vscode';

export interface WebviewPage {
  /** Bundle in dist/, e.g. `webview.js`. */
  script: string;
  /** Stylesheet in media/, e.g. `graph.css` (after `theme.css`, the status colours all pages share). */
  style: string;
  title: string;
  /** Static markup of the body (no data: that comes by message). */
  body: string;
  /** Allow `data:` images and images from the extension. */
  images?: boolean;
}

export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, page: WebviewPage): string {
  const script = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', page.script));
  const styles = ['theme.css', page.style].map((s) => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', s)));
  const nonce = crypto.randomBytes(16).toString('base64');
  const csp = [
    "default-src 'none'",
    `style-src ${webview.cspSource}`,
    `script-src 'nonce-${nonce}'`,
    ...(page.images ? [`img-src ${webview.cspSource} data:`] : []),
    `font-src ${webview.cspSource}`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
${styles.map((s) => `<link rel="stylesheet" href="${s.toString()}">`).join('\n')}
<title>${page.title}</title>
</head>
<body>
${page.body}
<script nonce="${nonce}" src="${script.toString()}"></script>
</body>
</html>`;
}
