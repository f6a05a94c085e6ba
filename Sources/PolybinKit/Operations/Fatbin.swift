import CPolybin
import FoundationEssentials

/// The fatbin pipeline and its introspection, as the CLI verbs call them.
public enum Fatbin {
    /// The fatbin payload's own section. The linker places it in a read-only segment at the
    /// end of the file (Linker), so a truncated fatbin loses payload pages, which the runner
    /// reports as corruption, rather than its own data, which would crash it before main().
    public static let payloadSection = ".polybin"
    /// The payload's symbol, which the runner reads (pb_payload.h); `<symbol>_size` holds its size.
    public static let payloadSymbol = PB_PAYLOAD_SYMBOL
    static let payloadSizeSymbol = PB_PAYLOAD_SYMBOL + PB_PAYLOAD_SIZE_SUFFIX
    /// The address the linker gives it, past everything the runner has.
    public static let payloadAddress: UInt64 = 0x4000_0000
    /// The exit status of "no usable flavor": the runner's (pb_exit_codes.h), which `polybin
    /// explain` gives too when it would select nothing.
    public static let noUsableFlavorExit = Int32(PB_EXIT_NO_USABLE_FLAVOR)

    /// `polybin build`: pack, emit the payload object, link with the runner.
    public static func build(flavors: [Flavor], packer: FatbinPacker, linker: Linker, output: String) throws {
        try OutputRule.check(output, inputs: flavors.map { ($0.path, "the input of flavor \($0.name)") })
        let dir = try FileSystem.makeTemporaryDirectory("polybin")
        defer { try? FileSystem.removeTree(dir) }
        let object = dir.appending("payload.o")
        // The bundle streams into its place in the object; head and tail follow its size.
        do {
            try Files.create(object) { fd in
                let offset = ObjectEmitter.standalonePayloadOffset
                let layout = try packer.pack(flavors, into: fd, at: offset)
                try ObjectEmitter(section: payloadSection, machine: .init(layout.arch)).layout(payloadSize: layout.size)
                    .writeAround(into: fd)
            }
        } catch let error as SystemError where error.path == object {
            // The scratch object is polybin's (a full disk, `ulimit -f`): the message names the output.
            throw PolybinError("\(output): writing the payload object: \(error.call): \(error.reason)")
        } catch let error as PolybinError where error.message.contains(object.description) {
            throw PolybinError("\(output): \(error.message.replacing(object.description, with: "writing the payload object"))")
        }
        var linker = linker
        linker.progress = packer.progress
        defer { linker.progress.end() }
        do {
            try linker.link(payloadObject: object.description, output: output)
        } catch let error as PolybinError {
            throw PolybinError(error.message.replacing(object.description, with: "the payload object"))
        }
    }

    /// `polybin pack`: the builds into a bundle file, the first step of `build` alone.
    public static func pack(flavors: [Flavor], packer: FatbinPacker, output: String) throws {
        try OutputRule.check(output, inputs: flavors.map { ($0.path, "the input of flavor \($0.name)") })
        try Files.create(FilePath(output)) { fd in _ = try packer.pack(flavors, into: fd, at: 0) }
    }

    /// `polybin link`: a payload object the user made (checked first: it must hold a fatbin
    /// payload and nothing that would replace the runner) linked with the runner.
    public static func link(payloadObject: String, output: String, linker: Linker) throws {
        try OutputRule.check(output, inputs: [(payloadObject, "the payload object"), (linker.explicitRunnerArchive ?? "", "the runner archive")])
        try Linker.checkPayloadObject(payloadObject, progress: linker.progress)
        try linker.link(payloadObject: payloadObject, output: output)
    }

    /// The decision table the runner prints under POLYBIN_EXPLAIN=1, chosen and formatted by
    /// the same C code (pb_select, pb_explain_format).
    /// `host` is this machine unless given (an aarch64 CPU described by its HWCAP words, say).
    public static func explain(_ bundle: LoadedBundle, host: FeatureSet = .host) throws -> (text: String, selected: LoadedBundle.Entry?) {
        guard let arch = bundle.arch else {
            throw PolybinError("\(bundle.path): it holds embedded files, not builds: explain reads a fatbin")
        }
        guard arch == host.arch else {
            // The advice that applies: --hwcap describes an aarch64 CPU, which an x86-64 fatbin
            // does not run on; an aarch64 fatbin explained here needs one described.
            let advice = arch == .aarch64
                ? "for an aarch64 CPU pass --hwcap and --hwcap2 (getauxval(AT_HWCAP), (AT_HWCAP2)), or run the fatbin there with POLYBIN_EXPLAIN=1"
                : host.arch != FeatureSet.host.arch
                    ? "--hwcap and --hwcap2 describe an aarch64 CPU: drop them to explain for this machine"
                    : "run the fatbin on an \(arch.name) machine with POLYBIN_EXPLAIN=1"
            throw PolybinError("\(bundle.path): its builds are \(arch.name) and the CPU to explain for is \(host.arch.name); \(advice)")
        }
        let selected = bundle.select(for: host)
        return (bundle.decisionTable(for: host, chosen: selected), selected)
    }

    /// What `inspect` shows: builds for a fatbin, files for an embedded-files bundle. JSON
    /// carries `exec_order` and `flavors` for a fatbin, `files` otherwise.
    public struct Report: Codable {
        public struct FlavorReport: Codable {
            public let name: String
            public let level: String
            public let features: [String]
            public let size: UInt64
            public let stored_size: UInt64
            public let codec: String
            public let reference: String?
            public let sha256: String
        }
        public struct FileReport: Codable {
            public let name: String
            public let size: UInt64
            public let stored_size: UInt64
            public let codec: String
            public let sha256: String
        }
        /// The polybin that wrote this report (PolybinVersion.current).
        public let polybin_version: String
        public let path: String
        public let kind: String
        public let arch: String?
        public let file_size: UInt64
        public let bundle_size: UInt64
        public let exec_order: [String]?
        public let flavors: [FlavorReport]?
        public let files: [FileReport]?
    }

    public static func inspect(_ bundle: LoadedBundle) throws -> Report {
        let fileSize = (try? FileSystem.status(FilePath(bundle.path)).size) ?? 0
        guard bundle.isFatbin else {
            return Report(
                polybin_version: PolybinVersion.current, path: bundle.path, kind: "files", arch: nil, file_size: fileSize, bundle_size: bundle.byteCount,
                exec_order: nil, flavors: nil,
                files: bundle.entries.map { e in
                    Report.FileReport(name: e.name, size: e.size, stored_size: e.storedSize, codec: "\(e.codec)",
                                      sha256: SHA256.hex(e.sha256))
                })
        }
        return Report(
            polybin_version: PolybinVersion.current, path: bundle.path, kind: "fatbin",
            arch: bundle.arch?.name, file_size: fileSize,
            bundle_size: bundle.byteCount, exec_order: bundle.execOrder.strategies.map(\.name),
            flavors: bundle.entries.map { e in
                Report.FlavorReport(
                    name: e.name, level: e.features.levelName, features: e.features.names, size: e.size,
                    stored_size: e.storedSize, codec: "\(e.codec)", reference: e.reference, sha256: SHA256.hex(e.sha256))
            }, files: nil)
    }

    /// The text of `inspect`. Identical contents are stored once (the packers share one copy
    /// between entries with the same SHA-256): the later entries say "stored with" the first
    /// instead of counting its stored bytes again, so the stored sizes shown add up to no more
    /// than the payload. (The JSON keeps each entry's stored_size.)
    public static func describe(_ report: Report) -> String {
        var firstWith: [String: String] = [:]
        let stored = { (name: String, sha256: String, size: UInt64, how: String) -> String in
            if let first = firstWith[sha256] { return "stored with \(first)" }
            firstWith[sha256] = name
            return "stored \(size) (\(how))"
        }
        if let files = report.files {
            var lines = ["\(report.path): embedded files, \(report.file_size) bytes, payload \(report.bundle_size) bytes, \(files.count) file\(files.count == 1 ? "" : "s")"]
            for f in files {
                lines.append("  \(f.name)  \(f.size) bytes  \(stored(f.name, f.sha256, f.stored_size, f.codec))  sha256 \(f.sha256)")
            }
            return lines.joined(separator: "\n") + "\n"
        }
        let kind = report.arch.map { "\(report.kind) for \($0)" } ?? report.kind
        var lines = ["\(report.path): \(kind), \(report.file_size) bytes, payload \(report.bundle_size) bytes, exec order \((report.exec_order ?? []).joined(separator: ","))"]
        for f in report.flavors ?? [] {
            let how = f.reference.map { "delta against \($0)" } ?? f.codec
            lines.append("  \(f.name)  level \(f.level)  \(f.size) bytes  \(stored(f.name, f.sha256, f.stored_size, how))  sha256 \(f.sha256)")
            if !f.features.isEmpty { lines.append("    requires: \(f.features.joined(separator: " "))") }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    public static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self) + "\n"
    }

    /// `polybin extract`: the named build, byte-identical to the one packed.
    /// `polybin extract`: the output checked before the file is read.
    public static func extract(from path: String, flavor: String, output: String, progress: Progress = .silent) throws {
        try OutputRule.check(output, inputs: [(path, "the file it extracts from")])
        try extract(LoadedBundle(path: path), flavor: flavor, output: output, progress: progress)
    }

    public static func extract(_ bundle: LoadedBundle, flavor: String, output: String, progress: Progress = .silent) throws {
        guard let entry = bundle.entry(named: flavor) else {
            throw PolybinError("\(bundle.path): no flavor named \(flavor) (has: \(bundle.entries.map(\.name).joined(separator: ", ")))")
        }
        try Files.write(bundle.content(of: entry, progress: progress), to: output, executable: bundle.isFatbin)
    }
}
