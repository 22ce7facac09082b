// Offsets between the editor and Python: LSP/JS strings count UTF-16 code units,
// Python counts code points. Identical for BMP-only text (the fast path).
export function utf16ToCodePoints(text: string, offset: number): number {
  const head = text.slice(0, offset);
  // Each surrogate pair is 2 units but 1 code point.
  const pairs = head.match(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g)?.length ?? 0;
  return offset - pairs;
}

export function codePointsToUtf16(text: string, cp: number): number {
  let units = 0;
  let count = 0;
  for (const ch of text) {
    if (count >= cp) break;
    units += ch.length;
    count++;
  }
  return units;
}
