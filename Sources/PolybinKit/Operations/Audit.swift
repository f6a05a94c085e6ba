import CPolybin

/// `polybin audit FILE...`: what a machine needs to run each file (docs/audit.md).
public enum Audit {
    public struct Options: Sendable {
        /// Sweep the code for the CPU section (x86-64 through Zydis, aarch64 through libLLVM).
        public var cpu = true
        public init() {}
    }

    /// The report of one file: an ELF program or library, or each build of a fatbin. Any
    /// other file, or one the ELF reader refuses, is one PolybinError naming it.
    public static func report(_ path: String, options: Options = Options(), cache: LoaderCache = .system()) throws -> AuditReport {
        let file = try MappedFile(path)
        let elf: ELFFile
        do {
            elf = try ELFFile(file)
        } catch let failure as ELFFile.Failure {
            throw PolybinError("\(path): \(problem(failure))")
        }
        // $ORIGIN is the directory of the file's real path, as the loader sees it.
        let origin = ((try? FileSystem.resolved(FilePath(path))) ?? FilePath(path)).directory.description
        let search = { (arch: Architecture) in LibrarySearch(cache: cache, arch: arch) }
        do {
            if try elf.section(named: Fatbin.payloadSection) != nil {
                let bundle = try LoadedBundle(path: path)
                var builds: [AuditReport.Build] = []
                for entry in bundle.entries {
                    var audit: AuditReport.Build
                    do {
                        audit = try BuildAudit.audit(try ELFFile(copying: try bundle.content(of: entry)), origin: origin, search: search, cpu: options.cpu)
                    } catch let failure as ELFFile.Failure {
                        throw PolybinError("\(path): flavor \(entry.name): damaged ELF file: \(failure.reason)")
                    }
                    audit.flavor = entry.name
                    let beyond = entry.features.subtracting(FeatureSet(level: entry.features.level, arch: entry.features.arch)).names
                    audit.declared = beyond.isEmpty ? entry.features.levelName : "\(entry.features.levelName) + \(beyond.joined(separator: " "))"
                    audit.above_declared = aboveLabel(audit.cpu, declared: entry.features)
                    builds.append(audit)
                }
                return AuditReport(polybin_version: PolybinVersion.current, path: path, kind: "fatbin", builds: builds)
            }
            let build = try BuildAudit.audit(elf, origin: origin, search: search, cpu: options.cpu)
            return AuditReport(polybin_version: PolybinVersion.current, path: path, kind: "elf", builds: [build])
        } catch let failure as ELFFile.Failure {
            throw PolybinError("\(path): damaged ELF file: \(failure.reason)")
        } catch let error as PolybinError where !error.message.hasPrefix(path) {
            throw PolybinError("\(path): \(error.message)")
        }
    }

    /// Text (`json` false) or JSON of a report.
    public static func render(_ report: AuditReport, json: Bool) throws -> String {
        json ? try Fatbin.json(report) : AuditText.describe(report)
    }

    /// Why a build's CPU section could not be written, when the reason is the missing
    /// disassembler: what `polybin audit` turns into its exit status.
    public static func missingDisassembler(_ report: AuditReport) -> String? {
        let missing = report.builds.compactMap { build in
            Architecture(name: build.arch).flatMap { CodeSweep.unavailable($0) }.flatMap { build.cpu_not_audited == $0 ? $0 : nil }
        }
        return missing.first.map { $0 + "; the other sections are above" }
    }

    static func problem(_ failure: ELFFile.Failure) -> String {
        switch failure.status {
        case PB_ELF_E_NOT_ELF: return "not an ELF file"
        case PB_ELF_E_CLASS: return "a 32-bit ELF file: polybin audits 64-bit programs and libraries"
        case PB_ELF_E_ENDIAN: return "a big-endian ELF file: polybin audits little-endian x86-64 and aarch64"
        case PB_ELF_E_TRUNCATED: return "not an ELF file (\(failure.reason))"
        default: return "damaged ELF file: \(failure.reason)"
        }
    }

    /// "needs x86-64-v3 (avx2 in 4 functions)" when the build's own code needs more than its label.
    static func aboveLabel(_ cpu: AuditReport.CPU?, declared: FeatureSet) -> String? {
        guard let cpu, let needs = Level.parse(Substring(cpu.needs), arch: declared.arch) else { return nil }
        let allowed = Set(declared.names).union(FeatureSet(level: declared.level, arch: declared.arch).names)
        let beyond = cpu.extensions.filter { !Set($0.features).isSubset(of: allowed) }
        guard needs > declared.level || !beyond.isEmpty else { return nil }
        let what = beyond.map { "\($0.isa_set) in \($0.functions.count) function\($0.functions.count == 1 ? "" : "s")" }
        return "its own code needs \(cpu.needs) (\(what.joined(separator: ", ")))"
    }
}
