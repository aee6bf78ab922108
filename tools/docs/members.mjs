// @ts-check
import { Application, Converter, ReflectionKind } from "typedoc"
import ts from "typescript"

/** @param {import("typedoc").Application} app */
export const load = (app) => {
  const declared = new WeakSet()
  app.converter.on(Converter.EVENT_CREATE_DECLARATION, (context, reflection) => {
    const decl = context.getSymbolFromReflection(reflection)?.declarations?.[0]
    if (decl && (ts.isPropertySignature(decl) || ts.isMethodSignature(decl))) declared.add(reflection)
  })
  app.on(Application.EVENT_VALIDATE_PROJECT, (project) => {
    for (const ref of project.getReflectionsByKind(ReflectionKind.Property | ReflectionKind.Method)) {
      if (!declared.has(ref)) continue
      let o = ref.parent
      while (
        o &&
        !o.kindOf(
          ReflectionKind.Interface |
            ReflectionKind.TypeAlias |
            ReflectionKind.Variable |
            ReflectionKind.Function |
            ReflectionKind.Class |
            ReflectionKind.Module
        )
      )
        o = o.parent
      const documented = ref.hasComment() || (ref.signatures ?? []).some((s) => s.hasComment())
      if (!documented)
        app.logger.warn(
          `${ref.getFriendlyFullName()} (in ${o ? ReflectionKind[o.kind] : "?"} ${o?.getFriendlyFullName()}) has no doc comment`
        )
    }
  })
}
