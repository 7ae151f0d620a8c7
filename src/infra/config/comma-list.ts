/** The items of a comma-separated setting (`a, b,,c` → `[a, b, c]`). */
export function commaList(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}
