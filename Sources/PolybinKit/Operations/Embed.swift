/// How `polybin embed` hands the files to the compiler.
public enum EmbedMode: String, CaseIterable, Sendable {
    /// A relocatable object holding payload and lookup code (needs a C compiler at embed time).
    case object
    /// One self-contained C99 file; the payload is string literals.
    case c
    /// A C file that pulls the bundle file in with C23 `#embed`.
    case cEmbed = "c-embed"
    /// A C file whose top-level assembly pulls the bundle file in with `.incbin`.
    case cIncbin = "c-incbin"
}

/// `polybin embed`: files and directories → a bundle → an object or C source with a lookup
/// API (docs/embedding.md, "Embedded files"). The same inputs give byte-identical outputs, wherever it runs.
///
/// Nothing is lost and nothing goes stale: outputs that are one file with an input or with
/// each other are refused before anything is written; a directory walked leaves the outputs
/// out; every output is written to a temporary file beside it and all are renamed into place
/// only when all are complete. Paths are bytes from the command line to the file system.
public struct Embed {
    public var name: String
    public var inputs: [FilePath] = []
    public var rules = EmbedInputs()
    public var mode: EmbedMode = .object
    /// The object or C file; nil writes only the header.
    public var output: FilePath?
    public var header: FilePath?
    public var depfile: FilePath?
    /// Who reads the depfile: its escapes, and the names it refuses.
    public var depfileFormat: DepfileFormat = .make
    /// Where c-embed and c-incbin put the bundle (default: the output with `.bundle` for `.c`).
    public var bundleFile: FilePath?
    public var compressionLevel: Int32?
    /// The C compiler of `--mode object` (default: $CC or cc; aarch64-linux-gnu-gcc for an
    /// aarch64 target on another machine).
    public var compiler: String?
    /// The architecture of `--mode object`'s object (the C modes are the same for every one).
    public var target: Architecture = .host
    /// Where the walk, the hashing and the writing report (`Progress.terminal`).
    public var progress: Progress = .silent

    public init(name: String) { self.name = name }

    public func run() throws {
        try Self.requireIdentifier(name)
        guard output != nil || header != nil else {
            throw PolybinError("nothing to write: pass -o FILE (and --header FILE for the API)")
        }
        let files = OutputFiles()
        defer { progress.end() }
        do {
            try write(into: files)
            try files.commit()
        } catch {
            files.abandon()
            throw error
        }
    }

    private func write(into files: OutputFiles) throws {
        guard let output else {
            guard inputs.isEmpty else {
                throw PolybinError("\(inputs[0]): nothing would hold the files: pass -o FILE")
            }
            _ = try Self.places(of: [header].compactMap { $0 })
            try writeHeader(into: files)
            return
        }
        if mode == .object || mode == .c, bundleFile != nil {
            throw PolybinError("--bundle is for --mode c-embed and c-incbin; --mode \(mode.rawValue) holds the bundle itself")
        }
        let bundlePath = mode == .cEmbed || mode == .cIncbin ? bundleFile ?? Self.defaultBundlePath(for: output) : nil
        // Before anything is written: outputs that are one file, or an input, fail the run.
        var rules = self.rules
        rules.progress = progress
        rules.outputs = try Self.places(of: [output, bundlePath, header, depfile].compactMap { $0 })
        let collection = try rules.collect(inputs)
        // A path the depfile's reader cannot read fails the run too.
        let dependencies = try depfile.map { _ in
            try Depfile.text(targets: [output] + (bundlePath.map { [$0] } ?? []),
                             prerequisites: collection.files.map(\.path) + collection.directories, format: depfileFormat)
        }
        let packed = try FilesPacker(compressionLevel: compressionLevel, progress: progress).pack(collection.files)
        if mode != .object, packed.size > Self.cModeLimit {
            // The C modes put the payload in .rodata, between the program's code and data: past
            // 2 GiB the linker cannot reach across it ("relocation truncated to fit").
            throw PolybinError("\(output): the files come to \(packed.size) bytes, more than --mode \(mode.rawValue) can hold (2 GiB: its payload sits in .rodata, which the small code model reaches with 32-bit offsets); use --mode object, whose payload is a large section")
        }
        let source = EmbedSource(name: name)
        let symbol = "\(name)_payload"
        let section = ".rodata.polybin.\(name)"

        switch mode {
        case .object:
            try EmbedObject(compiler: compiler ?? (target == .host ? nil : Linker().compiler(for: target)),
                            machine: ObjectEmitter.Machine(target)).build(
                name: name, packed: packed, symbol: symbol,
                lookup: source.source(mode: mode, rows: packed.rows, payload: Array("""
                    /* The payload and the tables are sections polybin adds to this code's object. */
                    extern const unsigned char \(symbol)[];
                    extern const uint64_t \(symbol)_size;
                    """.utf8)),
                output: output, into: files)
        case .c:
            progress.begin("writing C", total: 0)
            // Streamed from the inputs: the bundle and its literal are never held whole.
            let parts = source.source(mode: mode, rows: packed.rows, payload: [])
            try files.create(output) { fd in
                try fd.write(parts[0])
                try CEmitter(symbol: symbol, section: section).writeDefinitions(size: packed.size, to: fd.write) { literal in
                    try packed.stream(literal.write)
                }
                try fd.write(parts[2])
            }
        case .cEmbed, .cIncbin:
            guard let bundlePath else { preconditionFailure("c-embed and c-incbin always have a bundle path") }
            guard let reference = TextPath.relative(bundlePath, from: output.directory).string else {
                throw PolybinError("\(bundlePath): the C file would spell this bundle path, which is not UTF-8: choose another --bundle")
            }
            // Only messages in the C file name it: shown lossily when its bytes are not UTF-8.
            let sourceName = String(decoding: output.lastComponent, as: UTF8.self)
            let emitter = CEmitter(symbol: symbol, section: section)
            let size = Int(packed.size)
            let payload = mode == .cEmbed
                ? try emitter.embedDefinitions(file: reference, size: size, sourceName: sourceName)
                : emitter.incbinDefinitions(file: reference, size: size, sourceName: sourceName)
            try files.create(bundlePath) { fd in
                try fd.resize(to: packed.size)
                try packed.write(to: fd, at: 0)
            }
            try files.write(parts: source.source(mode: mode, rows: packed.rows, payload: Array(payload.utf8)), to: output)
        }
        if header != nil { try writeHeader(into: files) }
        if let depfile, let dependencies { try files.write(parts: [dependencies], to: depfile) }
    }

    /// The header depends only on the name: it is rewritten only when its text changes, so
    /// sources that include it are not rebuilt when an embedded file changes.
    private func writeHeader(into files: OutputFiles) throws {
        guard let header else { return }
        let text = Array(EmbedSource(name: name).header().utf8)
        if (try? Files.read(header)) == text { return }
        try files.write(parts: [text], to: header)
    }

    /// Where each output goes, refusing an output the output rule refuses (OutputRule) and
    /// two outputs that are one file, however spelled.
    static func places(of outputs: [FilePath]) throws -> [(path: FilePath, place: FilePlace)] {
        var places: [(path: FilePath, place: FilePlace)] = []
        for path in outputs {
            _ = try OutputRule.target(path)
            let place: FilePlace
            do {
                place = try FilePlace(path)
            } catch let error as SystemError {
                throw PolybinError("\(path): cannot be written (\(error.call): \(error.reason))")
            }
            if let other = places.first(where: { $0.place.isSame(as: place) }) {
                throw PolybinError("\(path): is the same file as \(other.path): each output needs a file of its own")
            }
            places.append((path, place))
        }
        return places
    }

    public static func requireIdentifier(_ name: String) throws {
        let bytes = Array(name.utf8)
        func letter(_ b: UInt8) -> Bool { (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A || b == 0x5F }
        guard let first = bytes.first, letter(first), bytes.allSatisfy({ letter($0) || (0x30...0x39).contains($0) }) else {
            throw PolybinError("--name '\(name)' is not a valid C identifier: use letters, digits and _, not starting with a digit")
        }
    }

    /// The largest payload the C modes take: 2 GiB less a page for the code and data around it.
    static let cModeLimit: UInt64 = (2 << 30) - 4096

    static func defaultBundlePath(for output: FilePath) -> FilePath {
        let bytes = output.bytes
        return FilePath(bytes: (bytes.count >= 2 && bytes.suffix(2) == [0x2E, 0x63] ? Array(bytes.dropLast(2)) : bytes) + Array(".bundle".utf8))
    }
}

/// `--mode object`: the compiled lookup code with the payload and the tables added to its
/// object as sections of their own (ObjectEmitter.adding), streamed from the inputs straight
/// into the output: the payload is written once, and no `cc -r` or assembler copies it again.
/// The lookup code is the same for every tree (the tables are data, not C), so the compiler
/// runs while the payload is written at its fixed place in the object.
struct EmbedObject {
    var compiler: String?
    var machine: ObjectEmitter.Machine = .x86_64

    func build(name: String, packed: FilesPacker.Packed, symbol: String, lookup: [[UInt8]], output: FilePath,
               into files: OutputFiles) throws {
        let cc = compiler ?? Environment.value("CC") ?? "cc"
        let dir = try FileSystem.makeTemporaryDirectory("polybin-embed")
        defer { try? FileSystem.removeTree(dir) }
        // Fixed file names, compiled from inside the directory: the object records the source
        // name, and it must not depend on where polybin ran.
        let source = "\(name)-lookup.c"
        try Files.write(parts: lookup, to: dir.appending(source))
        // Large sections are named .l*: that is how linker scripts find them.
        let section = (machine.largeSectionFlag == nil ? ".rodata" : ".lrodata") + ".polybin.\(name)"
        let emitter = ObjectEmitter(symbol: symbol, section: section, machine: machine)
        let payloadOffset = ObjectEmitter.addedPayloadOffset
        try files.create(output) { fd in
            let compiled = ConcurrentResults<Result<[UInt8], Error>>(count: 1)
            let compiling = Threads.Background {
                compiled[0] = Result {
                    // -fPIC: the one object links into position-independent executables and shared
                    // libraries alike; the payload is reached through the GOT, the tables
                    // (hidden) PC-relative, and the tables reach the payload with 64-bit pointers.
                    try Tool.run(cc, ["-c", "-O2", "-fPIC", "-o", "lookup.o", source], in: dir.description,
                                 what: "compiling the lookup code for \(output)")
                    return try Files.read(dir.appending("lookup.o"))
                }
            }
            let written = Result {
                try fd.resize(to: payloadOffset + packed.size)
                try packed.write(to: fd, at: payloadOffset)
            }
            compiling.join()
            let layout = try emitter.adding(
                payloadSize: packed.size, tables: EmbedTables.tables(name: name, rows: packed.rows, payloadSize: packed.size),
                to: try compiled[0]!.get(), named: "\(cc) -c \(source)")
            try written.get()
            try layout.writeAround(into: fd)
        }
    }
}
