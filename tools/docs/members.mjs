// A typedoc plugin: every member declared in the source of a public interface or object type (a
// service's operations, an options object's fields) needs a doc comment. typedoc's own check
// covers the declarations themselves; members of schema-derived types (the server's response
// fields, spelled as the server spells them) are not declared here and are not required.

import { fileURLToPath } from "node:url"
import { Application, Converter, ReflectionKind } from "typedoc"
import ts from "typescript"

/** @param {import("typedoc").Application} app */
export const load = (app) => {
  const project = fileURLToPath(new URL("../../src/", import.meta.url))
  const declared = new Map()
  app.converter.on(Converter.EVENT_CREATE_DECLARATION, (context, reflection) => {
    const declaration = context.getSymbolFromReflection(reflection)?.declarations?.[0]
    if (declaration && (ts.isPropertySignature(declaration) || ts.isMethodSignature(declaration))) {
      const source = declaration.getSourceFile()
      if (!source.fileName.startsWith(project)) return
      const { line } = source.getLineAndCharacterOfPosition(declaration.getStart())
      declared.set(reflection, `src/${source.fileName.slice(project.length)}:${line + 1}`)
    }
  })
  app.on(Application.EVENT_VALIDATE_PROJECT, (project) => {
    const missing = new Map()
    for (const reflection of project.getReflectionsByKind(ReflectionKind.Property | ReflectionKind.Method)) {
      const at = declared.get(reflection)
      if (at === undefined) continue
      const documented = reflection.hasComment() || (reflection.signatures ?? []).some((s) => s.hasComment())
      if (!documented && !missing.has(at)) missing.set(at, reflection.getFriendlyFullName())
    }
    for (const [at, name] of [...missing].sort(([a], [b]) => a.localeCompare(b, "en", { numeric: true }))) {
      app.logger.warn(`${at}: ${name} has no doc comment`)
    }
  })
}
