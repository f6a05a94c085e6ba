import CPolybin

/// The checks a build must pass before it goes into a fatbin: the runner will execveat it.
public enum ELFCheck {
    /// The build's architecture, or an error unless `bytes` start like an x86-64 or aarch64
    /// ELF executable (ET_EXEC, or ET_DYN with an entry point). `expected` is the
    /// architecture the flavor names, when it names one (a level).
    @discardableResult
    public static func requireExecutable(_ bytes: [UInt8], path: String, flavor: String, expected: Architecture? = nil) throws -> Architecture {
        let what = expected.map { "an \($0.name)" } ?? "an x86-64 or aarch64"
        let problem = "\(path): flavor \(flavor) is not \(what) ELF executable"
        let header: pb_elf_header
        do {
            header = try ELFFile.header(bytes)
        } catch let failure as ELFFile.Failure {
            let class64 = failure.status == PB_ELF_E_CLASS || failure.status == PB_ELF_E_ENDIAN
            throw PolybinError("\(problem) (\(class64 ? "not 64-bit little-endian" : "no ELF header"))")
        }
        guard let arch = Architecture(rawValue: header.machine) else {
            throw PolybinError("\(problem) (machine \(header.machine), not x86-64 or aarch64)")
        }
        guard header.type == UInt16(PB_ET_EXEC) || (header.type == UInt16(PB_ET_DYN) && header.entry != 0) else {
            throw PolybinError("\(problem) (an object file or shared library, not a program)")
        }
        return arch
    }
}
