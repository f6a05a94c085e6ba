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
                      Inspect.self, Explain.self, Extract.self, CPU.self, Levels.self, AuditCommand.self, EmbedCommand.self])
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
        "A build: LEVEL=PATH (\(Architecture.allCases.map { $0.levelNames.joined(separator: ", ") }.joined(separator: "; "))) or NAME:FEATURE,...=PATH.",
        valueName: "spec"))
    var flavors: [String] = []

    @Option(name: .customLong("level"), help: ArgumentHelp(
        "zstd level for the stored builds and deltas (1-22; default by the total of distinct builds: 19 below 32 MiB, 12 below 256 MiB, 9 below 1 GiB, then 6; docs/packing.md).",
        valueName: "n"))
    var compressionLevel: Int32?

    @Option(name: .customLong("exec"), help: ArgumentHelp(
        "Default exec strategy order for the runner: cache, memfd, tmpfile, any non-empty subset in any order; default cache,memfd,tmpfile (POLYBIN_EXEC overrides at run time).",
        valueName: "order"), completion: .list(ExecOrder.every), transform: ExecOrder.init(parsing:))
    var execOrder: ExecOrder = .standard

    @Option(help: ArgumentHelp(
        "The flavor the others are stored as deltas against, or auto (the smaller of the two lowest-ranked builds).",
        valueName: "name"))
    var reference: ReferenceChoice = .auto

    func packer() throws -> (FatbinPacker, [Flavor]) {
        var packer = FatbinPacker()
        packer.compressionLevel = compressionLevel
        packer.execOrder = execOrder
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
            try Fatbin.pack(flavors: flavors, packer: packer, output: output)
        }
    }
}

/// Where `object` and `generate-c` put the bundle: its symbol and section.
struct PayloadOptions: ParsableArguments {
    @Option(help: "The payload's symbol; SYMBOL_size holds its size.") var symbol = Fatbin.payloadSymbol
    @Option(help: "The payload's section (the fatbin runner's is .polybin).") var section = Fatbin.payloadSection
}

struct Object: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Turn a bundle into a relocatable object (.rodata, aligned, non-executable stack).")

    @Argument(help: "The bundle file.") var bundle: String
    @Option(name: .shortAndLong, help: "The object file to write.") var output: String
    @OptionGroup var payload: PayloadOptions
    @Option(help: "The object's architecture (default: a fatbin's own, else this machine's).") var target: Architecture?
    @OptionGroup var progressOptions: ProgressOptions

    func run() throws {
        try perform {
            let progress = progressOptions.progress
            defer { progress.end() }
            try Emit.object(bundle: bundle, output: output, symbol: payload.symbol, section: payload.section, target: target, progress: progress)
        }
    }
}

struct GenerateC: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "generate-c", abstract: "Turn a bundle into a self-contained C source file.")

    @Argument(help: "The bundle file.") var bundle: String
    @Option(name: .shortAndLong, help: "The C file to write.") var output: String
    @Option(help: "The architecture the C is compiled for: the C is the same for both; a fatbin of another architecture is refused.") var target: Architecture?
    @OptionGroup var payload: PayloadOptions
    @OptionGroup var progressOptions: ProgressOptions

    func run() throws {
        try perform {
            let progress = progressOptions.progress
            defer { progress.end() }
            try Emit.c(bundle: bundle, output: output, symbol: payload.symbol, section: payload.section, target: target, progress: progress)
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
            var linker = Linker(compiler: cc, runnerArchive: runner)
            linker.progress = progress
            try Fatbin.link(payloadObject: payload, output: output, linker: linker)
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
            if selected == nil { throw ExitCode(Fatbin.noUsableFlavorExit) }  // the runner's code for the same answer
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
            try Fatbin.extract(from: file, flavor: flavor, output: output, progress: progress)
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

struct Levels: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List an architecture's CPU levels, lowest first, one per line.",
        discussion: """
            These are the LEVEL names --flavor LEVEL=PATH accepts, from the feature model the runner \
            selects with. Build integrations ask for them here rather than listing them: polybin.mk \
            (POLYBIN_LEVELS) and PolybinConfig.cmake (polybin_add_fatbin's LEVELS).
            """)

    @Option(help: "The architecture whose levels to list (default: this machine's).") var arch: Architecture?

    func run() {
        print((arch ?? .host).levelNames.joined(separator: "\n"))
    }
}
