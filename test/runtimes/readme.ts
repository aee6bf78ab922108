/**
 * The README's runtimes table (in "## Compatibility", the table whose first column is `Runtime`):
 * its column names after the first, and each row's cells by the row's first cell.
 */
export const runtimesTable = (readme: string) => {
  const start = readme.indexOf("\n## Compatibility")
  const section = readme.slice(start, readme.indexOf("\n## ", start + 1))
  const lines = section.split("\n")
  const at = lines.findIndex((line) => line.startsWith("| Runtime |"))
  const cells = (line: string) => line.slice(2, -2).split(" | ")
  const table: Array<string> = []
  for (let i = at; at !== -1 && i < lines.length && lines[i]!.startsWith("| "); i++) table.push(lines[i]!)
  const body = table.slice(2)
  return {
    columns: table.length === 0 ? [] : cells(table[0]!).slice(1),
    rows: new Map(body.map((line) => [cells(line)[0]!, cells(line).slice(1)] as const))
  }
}
