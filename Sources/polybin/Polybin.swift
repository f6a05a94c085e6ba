import ArgumentParser
import PolybinKit

@main
struct Polybin: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "polybin",
        abstract: "Put payloads into native executables at build time: fatbins and embedded files.",
        discussion: """
            Each pipeline step is its own subcommand so make rules can call them one by one.
            Shell completion: polybin --generate-completion-script bash|zsh|fish (docs/command-line.md, "Shell completion").
            """,
        version: PolybinVersion.current,
        subcommands: [Build.self, Pack.self, Object.self, GenerateC.self, Link.self,
                      Inspect.self, Explain.self, Extract.self, CPU.self, AuditCommand.self, EmbedCommand.self])
}

/// Runs a verb's body; a PolybinError or a failed system call becomes one `polybin:` line
/// on stderr and exit 1.
func perform(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as PolybinError {
        StandardError.write("polybin: \(error.message)\n")
        throw ExitCode(1)
    } catch let error as SystemError {
        StandardError.write("polybin: \(error)\n")
        throw ExitCode(1)
    }
}

struct FlavorOptions: ParsableArguments {
    @Option(name: .customLong("flavor"), help: ArgumentHelp(
        "A build: LEVEL=PATH (x86-64, x86-64-v2, x86-64-v3, x86-64-v4; armv8-a, armv8.2-a+dotprod+fp16, armv8.4-a+sve, armv9-a+sve2) or NAME:FEATURE,...=PATH.",
        valueName: "spec"))
    var flavors: [String] = []

    @Option(name: .customLong("level"), help: ArgumentHelp(
        "zstd level for the stored builds and deltas (1-22; default by the total of distinct builds: 19 below 32 MiB, 12 below 256 MiB, 9 below 1 GiB, then 6; docs/packing.md).",
        valueName: "n"))
    var compressionLevel: Int32?

    @Option(name: .customLong("exec"), help: ArgumentHelp(
        "Default exec strategy order for the runner: cache, memfd, tmpfile, any non-empty subset in any order; default cache,memfd,tmpfile (POLYBIN_EXEC overrides at run time).",
        valueName: "order"), completion: .list(ExecOrder.every), transform: ExecOrder.parse)
    var execOrder: ExecOrder = .standard

    @Option(help: ArgumentHelp(
        "The flavor the others are stored as deltas against, or auto (the smaller of the two lowest-ranked builds).",
        valueName: "name"))
    var reference: ReferenceChoice = .auto

    func packer() throws -> (FatbinPacker, [Flavor]) {
        var packer = FatbinPacker()
        packer.compressionLevel = compressionLevel
        packer.execOrder = execOrder.strategies
        packer.reference = reference.packerReference
        return (packer, try flavors.map(Flavor.init(parsing:)))
    }
}

struct Build: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Pack builds and link them with the runner into one fatbin.")

    @OptionGroup var flavorOptions: FlavorOptions
    @OptionGroup var progressOptions: ProgressOptions
    @Option(name: .shortAndLong, help: "The fatbin to write.") var output: String
    @Option(help: "The runner archive (default: libPolybinRunner.a beside polybin, libPolybinRunner-aarch64.a for aarch64 builds).") var runner: String?
    @Option(help: "The C compiler driver used to link (default: $CC or cc; aarch64-linux-gnu-gcc for aarch64 builds).") var cc: String?

    func run() throws {
        try perform {
            var (packer, flavors) = try flavorOptions.packer()
            packer.progress = progressOptions.progress
            let linker = Linker(compiler: cc, runnerArchive: runner)
            try Fatbin.build(flavors: flavors, packer: packer, linker: linker, output: output)
        }
    }
}

struct Pack: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Pack builds into a bundle file.")

    @OptionGroup var flavorOptions: FlavorOptions
    @OptionGroup var progressOptions: ProgressOptions
    @Option(name: .shortAndLong, help: "The bundle file to write.") var output: String

    func run() throws {
        try perform {
            var (packer, flavors) = try flavorOptions.packer()
            packer.progress = progressOptions.progress
            try Files.refuseOverwriting(output, inputs: flavors.map { ($0.path, "the input of flavor \($0.name)") })
            try Files.create(FilePath(output)) { fd in _ = try packer.pack(flavors, into: fd, at: 0) }
        }
    }
}

struct Object: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Turn a bundle into a relocatable object (.rodata, aligned, non-executable stack).")

    @Argument(help: "The bundle file.") var bundle: String
    @Option(name: .shortAndLong, help: "The object file to write.") var output: String
    @Option(help: "The payload's symbol; SYMBOL_size holds its size.") var symbol = "polybin_bundle"
    @Option(help: "The payload's section (the fatbin runner's is .polybin).") var section = Fatbin.payloadSection
    @Option(help: "The object's architecture (default: a fatbin's own, else this machine's).") var target: Architecture?
    @OptionGroup var progressOptions: ProgressOptions

    func run() throws {
        try perform {
            let progress = progressOptions.progress
            defer { progress.end() }
            try Files.refuseOverwriting(output, inputs: [(bundle, "the bundle it is made from")])
            // Checked in place, then copied into the object by the kernel: never read into memory.
            let file = try LoadedBundle.mappedBundleFile(bundle)
            let arch = try Architecture.target(target?.name, for: Array(file.bytes.prefix(128)), path: bundle)
            let layout = ObjectEmitter(symbol: symbol, section: section, machine: .init(arch)).layout(payloadSize: UInt64(file.count))
            let input = try Files.openForReading(FilePath(bundle))
            defer { try? input.close() }
            try Files.create(FilePath(output)) { fd in
                try fd.resize(to: layout.size)
                try layout.writeAround(into: fd)
                progress.begin("writing", total: UInt64(file.count))
                try fd.copy(from: input, at: 0, count: UInt64(file.count), to: layout.payloadOffset, progress: progress)
            }
        }
    }
}

struct GenerateC: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "generate-c", abstract: "Turn a bundle into a self-contained C source file.")

    @Argument(help: "The bundle file.") var bundle: String
    @Option(name: .shortAndLong, help: "The C file to write.") var output: String
    @Option(help: "The architecture the C is compiled for: the C is the same for both; a fatbin of another architecture is refused.") var target: Architecture?
    @Option(help: "The payload's symbol; SYMBOL_size holds its size.") var symbol = "polybin_bundle"
    @Option(help: "The payload's section (the fatbin runner's is .polybin).") var section = Fatbin.payloadSection
    @OptionGroup var progressOptions: ProgressOptions

    func run() throws {
        try perform {
            let progress = progressOptions.progress
            defer { progress.end() }
            try Files.refuseOverwriting(output, inputs: [(bundle, "the bundle it is made from")])
            progress.begin("writing C", total: 0)
            // Checked in place, then read a MiB at a time into the literal: never held whole.
            let file = try LoadedBundle.mappedBundleFile(bundle)
            _ = try Architecture.target(target?.name, for: Array(file.bytes.prefix(128)), path: bundle)   // refuses another architecture's fatbin
            let name = String(bundle.split(separator: "/").last ?? Substring(bundle))
            let emitter = CEmitter(symbol: symbol, section: section)
            let input = try Files.openForReading(FilePath(bundle))
            defer { try? input.close() }
            try Files.create(FilePath(output)) { fd in
                try fd.write(emitter.sourcePrefix(generatedFrom: name))
                try emitter.writeDefinitions(size: UInt64(file.count), to: fd.write) { literal in
                    try input.stream(count: UInt64(file.count), literal.write)
                }
            }
        }
    }
}

struct Link: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Link a payload object with the runner into a static fatbin.")

    @Argument(help: "The payload object (from `polybin object`, or a compiled `generate-c` file).") var payload: String
    @Option(name: .shortAndLong, help: "The fatbin to write.") var output: String
    @Option(help: "The runner archive (default: libPolybinRunner.a beside polybin, libPolybinRunner-aarch64.a for aarch64 builds).") var runner: String?
    @Option(help: "The C compiler driver used to link (default: $CC or cc; aarch64-linux-gnu-gcc for aarch64 builds).") var cc: String?
    @OptionGroup var progressOptions: ProgressOptions

    func run() throws {
        try perform {
            let progress = progressOptions.progress
            defer { progress.end() }
            try Files.refuseOverwriting(output, inputs: [(payload, "the payload object"), (runner ?? "", "the runner archive")])
            try Linker.checkPayloadObject(payload, progress: progress)
            var linker = Linker(compiler: cc, runnerArchive: runner)
            linker.progress = progress
            try linker.link(payloadObject: payload, output: output)
        }
    }
}

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the builds inside a fatbin or bundle.")

    @Argument(help: "A fatbin, bundle or object.") var file: String
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        try perform {
            let report = try Fatbin.inspect(LoadedBundle(path: file))
            print(json ? try Fatbin.json(report) : Fatbin.describe(report), terminator: "")
        }
    }
}

struct Explain: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show which build the runner would choose on this machine, and why.")

    @Argument(help: "A fatbin, bundle or object.") var file: String
    @Option(help: ArgumentHelp("Explain for an aarch64 CPU with this getauxval(AT_HWCAP) word (hex or decimal) instead of this machine.", valueName: "word"))
    var hwcap: String?
    @Option(help: ArgumentHelp("That CPU's getauxval(AT_HWCAP2) word (default 0).", valueName: "word"))
    var hwcap2: String?

    func run() throws {
        try perform {
            var host = FeatureSet.host
            if hwcap != nil || hwcap2 != nil {
                host = .aarch64(hwcap: try Explain.word(hwcap ?? "0", "--hwcap"), hwcap2: try Explain.word(hwcap2 ?? "0", "--hwcap2"))
            }
            let (text, selected) = try Fatbin.explain(try LoadedBundle(path: file), host: host)
            print(text, terminator: "")
            if selected == nil { throw ExitCode(122) }
        }
    }
}

extension Explain {
    static func word(_ text: String, _ option: String) throws -> UInt64 {
        let hex = text.hasPrefix("0x") || text.hasPrefix("0X")
        guard let value = UInt64(hex ? String(text.dropFirst(2)) : text, radix: hex ? 16 : 10) else {
            throw PolybinError("\(option) \(text): expected a number, decimal or 0x-prefixed hex")
        }
        return value
    }
}

struct Extract: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write one build out of a fatbin, byte-identical to the input build.")

    @Argument(help: "A fatbin, bundle or object.") var file: String
    @Option(help: "The flavor to extract (a level, or the name of a NAME:FEATURES flavor).", completion: .list(levelNames))
    var flavor: String
    @Option(name: .shortAndLong, help: "Where to write it.") var output: String
    @OptionGroup var progressOptions: ProgressOptions

    func run() throws {
        try perform {
            let progress = progressOptions.progress
            defer { progress.end() }
            try Files.refuseOverwriting(output, inputs: [(file, "the file it extracts from")])
            try Fatbin.extract(LoadedBundle(path: file), flavor: flavor, output: output, progress: progress)
        }
    }
}

struct CPU: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show this machine's x86-64 level and usable features (CPUID and XCR0).")

    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let host = FeatureSet.host
        if json {
            struct Report: Encodable { let level: String; let features: [String] }
            print(try Fatbin.json(Report(level: host.levelName, features: host.names)), terminator: "")
        } else {
            print("level: \(host.levelName)\nfeatures: \(host.names.joined(separator: " "))")
        }
    }
}
