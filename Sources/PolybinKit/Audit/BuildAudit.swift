import CPolybin

/// Everything an audit says about one ELF build: how it links, what it needs from the
/// libraries and the distribution, the kernel, and (x86-64) the CPU.
enum BuildAudit {
    /// `origin`: the directory `$ORIGIN` stands for (the real path's directory of the file).
    static func audit(_ elf: ELFFile, origin: String, search: (Architecture) -> LibrarySearch, cpu: Bool) throws -> AuditReport.Build {
        let header = elf.header
        guard let arch = Architecture(rawValue: header.machine) else {
            throw PolybinError("an ELF file for machine \(header.machine), not x86-64 or aarch64")
        }
        guard header.type == UInt16(PB_ET_EXEC) || header.type == UInt16(PB_ET_DYN) else {
            throw PolybinError(header.type == UInt16(PB_ET_REL) ? "a relocatable object (.o), not a program or library"
                                                                : "an ELF file of type \(header.type), not a program or library")
        }
        let interpreter = try elf.interpreter()
        let dynamic = try elf.dynamic()
        let type: String
        if header.type == UInt16(PB_ET_EXEC) {
            type = "program"
        } else if interpreter != nil || (dynamic?.isPIE ?? false) {
            type = "position-independent program"
        } else {
            type = dynamic == nil ? "position-independent program" : "shared library"
        }
        var libc: String?
        if let interpreter {
            libc = interpreter.contains("ld-musl") ? "musl" : interpreter.contains("ld-linux") ? "glibc" : nil
        } else if let needed = dynamic?.needed {
            libc = needed.contains { $0.hasPrefix("libc.musl") } ? "musl" : needed.contains("libc.so.6") ? "glibc" : nil
        }
        // A static PIE has a dynamic section (for its own relocations) but no interpreter and no library.
        let isStatic = interpreter == nil && (dynamic?.needed.isEmpty ?? true) && type != "shared library"
        let libraries = search(arch).resolve(dynamic?.needed ?? [], rpath: dynamic?.rpath, runpath: dynamic?.runpath, origin: origin)
            .map { AuditReport.Library(name: $0.name, path: $0.path, found_by: $0.how) }
        let versions = RuntimeVersions(needs: try elf.versionNeeds(), dynamicSymbols: try elf.symbols(dynamic: true) ?? []).needs
        let verdict = libc == "glibc" ? Distribution.verdict(versions) : ([], [])
        let notes = try elf.gnuNotes()
        let isa = notes.x86ISANeeded.map { bits in (0..<4).filter { bits & (1 << $0) != 0 }.map { Level.name($0 + 1) } }
        var build = AuditReport.Build(
            flavor: nil, declared: nil, above_declared: nil, arch: arch.name, type: type, linking: isStatic ? "static" : "dynamic",
            interpreter: interpreter, libc: libc, soname: dynamic?.soname, rpath: dynamic?.rpath, runpath: dynamic?.runpath,
            libraries: libraries, versions: versions, runs_on: verdict.0, not_on: verdict.1,
            minimum_kernel: notes.minimumKernel.map { $0.map(String.init).joined(separator: ".") }, x86_isa_needed: isa,
            cpu: nil, cpu_not_audited: nil)
        if !cpu {
            build.cpu_not_audited = "not asked for (--no-cpu)"
        } else if let why = CodeSweep.unavailable(arch) {
            build.cpu_not_audited = why
        } else {
            build.cpu = try CPUAudit.audit(elf)
        }
        return build
    }
}
