/// The CPU section of an audit: sweep the code, set dispatched functions aside, and name the
/// lowest level (and extra features) the rest needs, extension by extension.
enum CPUAudit {
    static func audit(_ elf: ELFFile) throws -> AuditReport.CPU {
        let arch = Architecture(rawValue: elf.header.machine) ?? .x86_64
        let sweep = try CodeSweep(elf)
        let aside = try DispatchRules.apply(elf, sweep)
        var own = Set<String>(), all = Set<String>()
        var byISA: [String: [AuditReport.FunctionCount]] = [:]
        var features: [String: [String]] = [:]
        var setAside: [AuditReport.SetAside] = []
        var lzcnt: [String] = []
        for (index, f) in sweep.functions.enumerated() where !f.above.isEmpty {
            all.formUnion(f.features)
            if let reason = aside[index] {
                setAside.append(.init(function: f.label, rule: reason.rule, reason: reason.why, isa_sets: f.above.mapValues(\.count)))
                continue
            }
            own.formUnion(f.features)
            for (isa, seen) in f.above {
                byISA[isa, default: []].append(.init(function: f.label, instructions: seen.count, first_address: "0x" + String(seen.first, radix: 16), sample: f.samples[isa]))
                features[isa] = arch == .aarch64 ? [isa] : ISATable.requirement(isaSet: isa, mnemonic: "")
            }
            if f.above["LZCNT"] != nil { lzcnt.append(f.label) }
        }
        let (level, extra) = arch == .aarch64 ? a64Level(own) : ISATable.level(of: own)
        let (allLevel, allExtra) = arch == .aarch64 ? a64Level(all) : ISATable.level(of: all)
        let extensions = byISA.map { isa, functions in
            AuditReport.Extension(isa_set: isa, features: features[isa] ?? [], instructions: functions.reduce(0) { $0 + $1.instructions },
                                  functions: functions.sorted { $0.instructions != $1.instructions ? $0.instructions > $1.instructions : $0.function < $1.function })
        }.sorted { $0.isa_set < $1.isa_set }
        return AuditReport.CPU(
            needs: Level.name(level, arch: arch), extra_features: extra, all_code_needs: Level.name(allLevel, arch: arch), all_code_extra_features: allExtra,
            extensions: extensions, set_aside: setAside.sorted { ($0.rule.rawValue, $0.function) < ($1.rule.rawValue, $1.function) },
            functions: sweep.functions.count, bytes: sweep.bytes, instructions: sweep.instructions, undecodable: sweep.undecodable,
            lzcnt_functions: lzcnt.sorted())
    }

    /// aarch64: the highest level named, and "beyond ..." as an extra when a word decodes only
    /// with every feature.
    static func a64Level(_ names: Set<String>) -> (Int, [String]) {
        let levels = names.compactMap { Level.parse(Substring($0), arch: .aarch64) }
        let beyond = names.filter { Level.parse(Substring($0), arch: .aarch64) == nil }
        return (levels.max() ?? 1, beyond.sorted())
    }
}
