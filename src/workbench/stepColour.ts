// Which colour a step has: the theme's six chart colours by step order, shared by the
// notebook decorations (src/extension/stepColours.ts) and the graph page (media/graph.css
// `.step-colour-N`), so a step looks the same everywhere.

/** Theme colour ids, in the order steps take them. */
export const STEP_COLOURS = ['charts.blue', 'charts.orange', 'charts.green', 'charts.purple', 'charts.red', 'charts.yellow'] as const;

/** The colour index (0-5) of the step at `index` in the pipeline's step order. */
export function stepColour(index: number): number {
  return index % STEP_COLOURS.length;
}
