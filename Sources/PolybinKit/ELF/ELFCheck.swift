/// The checks a build must pass before it goes into a fatbin: the runner will execveat it.
public enum ELFCheck {
    /// The build's architecture, or an error unless `bytes` start like an x86-64 or aarch64
    /// ELF executable (ET_EXEC, or ET_DYN with an entry point). `expected` is the
    /// architecture the flavor names, when it names one (a level).
    @discardableResult
    public static func requireExecutable(_ bytes: [UInt8], path: String, flavor: String, expected: Architecture? = nil) throws -> Architecture {
        let what = expected.map { "an \($0.name)" } ?? "an x86-64 or aarch64"
        let problem = "\(path): flavor \(flavor) is not \(what) ELF executable"
        guard bytes.count >= 64, bytes[0] == 0x7F, bytes[1] == 0x45, bytes[2] == 0x4C, bytes[3] == 0x46 else {
            throw PolybinError("\(problem) (no ELF header)")
        }
        guard bytes[4] == 2, bytes[5] == 1 else { throw PolybinError("\(problem) (not 64-bit little-endian)") }
        let type = UInt16(bytes[16]) | UInt16(bytes[17]) << 8
        let machine = UInt16(bytes[18]) | UInt16(bytes[19]) << 8
        var entry: UInt64 = 0
        for i in 0..<8 { entry |= UInt64(bytes[24 + i]) << (8 * UInt64(i)) }
        guard let arch = Architecture(rawValue: machine) else {
            throw PolybinError("\(problem) (machine \(machine), not x86-64 or aarch64)")
        }
        guard type == 2 || (type == 3 && entry != 0) else {
            throw PolybinError("\(problem) (an object file or shared library, not a program)")
        }
        return arch
    }
}
