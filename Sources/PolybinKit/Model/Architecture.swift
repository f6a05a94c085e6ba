import CPolybin

/// The CPU architectures Polybin has a feature model for, numbered as ELF's e_machine,
/// which is how a bundle records them and how a build's header names them.
public enum Architecture: UInt16, CaseIterable, Sendable {
    case x86_64 = 62
    case aarch64 = 183

    /// The architecture this copy of polybin runs on.
    public static var host: Architecture {
        #if arch(arm64)
        .aarch64
        #else
        .x86_64
        #endif
    }

    /// "x86-64", "aarch64".
    public var name: String { String(cString: pb_arch_name(UInt32(rawValue))) }

    /// Parses a `--target` value: "x86-64" (or "x86_64"), "aarch64" (or "arm64").
    public init?(name: String) {
        switch name {
        case "x86-64", "x86_64", "amd64": self = .x86_64
        case "aarch64", "arm64": self = .aarch64
        default: return nil
        }
    }

    /// The architecture of an ELF64 little-endian file from its header (e_machine), nil for
    /// other machines and for bytes that are not such a header.
    public init?(elfHeader bytes: [UInt8]) {
        guard let header = try? ELFFile.header(bytes) else { return nil }
        self.init(rawValue: header.machine)
    }

    /// The architecture to emit a payload for: `--target` when given (a fatbin of another
    /// architecture is refused: its runner could not run its builds), else a fatbin's own
    /// (`fatbinArch`, as the C reader read it: nil for a files bundle), else this machine's.
    public static func target(_ name: String?, fatbinArch own: Architecture?, path: String) throws -> Architecture {
        guard let name else { return own ?? .host }
        guard let arch = Architecture(name: name) else {
            throw PolybinError("--target \(name): expected x86-64 or aarch64")
        }
        if let own, own != arch {
            throw PolybinError("\(path): a fatbin of \(own.name) builds cannot be emitted for --target \(arch.name)")
        }
        return arch
    }

    /// The named levels, lowest first.
    public var levelNames: [String] { (1...Int(PB_LEVEL_MAX)).map { Level.name($0, arch: self) } }
}
