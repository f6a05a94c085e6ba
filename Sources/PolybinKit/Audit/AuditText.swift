/// The text form of an audit report: one header line per file, then per build its linking,
/// libraries, versions, distributions, kernel, notes and CPU. Long lists are cut at `shown`
/// entries with a count of the rest (the JSON holds every entry).
enum AuditText {
    static let shown = 10

    static func describe(_ report: AuditReport) -> String {
        var lines: [String] = []
        if report.kind == "fatbin" {
            lines.append("\(report.path): fatbin, \(report.builds.count) build\(report.builds.count == 1 ? "" : "s")")
            for build in report.builds {
                lines.append("  build \(build.flavor ?? "?") (declared \(build.declared ?? "?")): " + summary(build))
                lines += body(build).map { "    " + $0 }
            }
        } else if let build = report.builds.first {
            lines.append("\(report.path): " + summary(build))
            lines += body(build).map { "  " + $0 }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func summary(_ b: AuditReport.Build) -> String {
        var text = "\(b.arch) \(b.type), \(b.linking)"
        if let interpreter = b.interpreter { text += ", interpreter \(interpreter)" }
        if let libc = b.libc { text += " (\(libc))" }
        return text
    }

    static func cut<T>(_ items: [T], indent: String, _ render: (T) -> String) -> [String] {
        var out = items.prefix(shown).map { indent + render($0) }
        if items.count > shown { out.append(indent + "... and \(items.count - shown) more (--json lists all)") }
        return out
    }

    static func body(_ b: AuditReport.Build) -> [String] {
        var lines: [String] = []
        if let above = b.above_declared { lines.append("ABOVE ITS LABEL: declared \(b.declared ?? "?"), \(above)") }
        if let soname = b.soname { lines.append("soname: \(soname)") }
        if let rpath = b.rpath { lines.append("rpath: \(rpath)") }
        if let runpath = b.runpath { lines.append("runpath: \(runpath)") }
        if b.linking == "static" {
            lines.append("libraries: none (static: needs no shared library and no runtime version)")
        } else if b.libraries.isEmpty {
            lines.append("libraries: none")
        } else {
            lines.append("libraries:")
            for l in b.libraries {
                lines.append("  \(l.name) => " + (l.path.map { "\($0) (\(l.found_by ?? ""))" } ?? "not found on this machine"))
            }
        }
        if !b.versions.isEmpty {
            lines.append("versions (newest needed from each library):")
            for v in b.versions {
                let symbols = v.symbols.prefix(5).joined(separator: ", ") + (v.symbols.count > 5 ? ", +\(v.symbols.count - 5) more" : "")
                lines.append("  \(v.library): \(v.newest)" + (symbols.isEmpty ? "" : " (\(symbols))"))
            }
        }
        switch b.libc {
        case "musl":
            lines.append("distributions: a musl program: runs where its interpreter is (Alpine, or musl installed); not on a glibc distribution without musl")
        case "glibc":
            var text = "distributions (table of \(Distribution.asOf)): "
            text += b.runs_on.isEmpty ? "runs on none of the table" : "runs on " + b.runs_on.joined(separator: ", ")
            if !b.not_on.isEmpty { text += "; not on " + b.not_on.joined(separator: ", ") }
            lines.append(text)
        default:
            break
        }
        if let kernel = b.minimum_kernel { lines.append("kernel: Linux \(kernel) or later (ABI note)") }
        if let isa = b.x86_isa_needed { lines.append("x86 ISA needed (GNU property note): \(isa.isEmpty ? "none" : isa.joined(separator: ", "))") }
        guard let cpu = b.cpu else {
            lines.append("cpu: not audited: \(b.cpu_not_audited ?? "")")
            return lines
        }
        let plus = cpu.extra_features.isEmpty ? "" : " + " + cpu.extra_features.joined(separator: " ")
        let allPlus = cpu.all_code_extra_features.isEmpty ? "" : " + " + cpu.all_code_extra_features.joined(separator: " ")
        lines.append("cpu: needs \(cpu.needs)\(plus) (its own code; all code, dispatched included: \(cpu.all_code_needs)\(allPlus))")
        for e in cpu.extensions {
            let features = e.features == [e.isa_set] ? "" : " (\(e.features.joined(separator: " ")))"
            lines.append("  \(e.isa_set)\(features): \(e.instructions) instruction\(e.instructions == 1 ? "" : "s") in \(e.functions.count) function\(e.functions.count == 1 ? "" : "s")")
            lines += cut(e.functions, indent: "    ") { "\($0.function): \($0.instructions), first at \($0.first_address)" + ($0.sample.map { " (\($0))" } ?? "") }
        }
        if !cpu.lzcnt_functions.isEmpty {
            lines.append("  lzcnt below x86-64-v3 does not trap: it runs as bsr and returns another number (in \(cpu.lzcnt_functions.prefix(shown).joined(separator: ", ")))")
        }
        if !cpu.set_aside.isEmpty {
            let a = cpu.set_aside.filter { $0.rule == .ifunc }.count, c = cpu.set_aside.count - a
            lines.append("  set aside as dispatched: \(cpu.set_aside.count) function\(cpu.set_aside.count == 1 ? "" : "s") (rule A, IFUNC: \(a); rule C, names: \(c))")
            lines += cut(cpu.set_aside, indent: "    ") { s in
                let sets = s.isa_sets.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
                return "rule \(s.rule.rawValue): \(s.function): \(s.reason) (\(sets))"
            }
        }
        lines.append("  swept \(cpu.functions) functions, \(cpu.bytes) bytes, \(cpu.instructions) instructions, \(cpu.undecodable) undecodable \(b.arch == Architecture.aarch64.name ? "words" : "bytes")")
        return lines
    }
}
