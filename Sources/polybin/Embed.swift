import ArgumentParser
import PolybinKit

struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Link files and directories into a C, C++ or Swift program, with a lookup-by-name API.",
        discussion: """
            Names are paths relative to the directory given (or --base), with / separators. Hidden \
            files are skipped and symbolic links refused unless asked for; see docs/embedding.md, "Embedded files".

            Example: polybin embed --name assets -o assets.o --header assets.h --depfile assets.d web/ scripts/
            """)

    @Option(help: "The bundle's name: a C identifier that prefixes every symbol (NAME_find, NAME_read, ...).")
    var name: String
    @Option(name: .shortAndLong, help: "The object or C file to write (without it, only --header is written).")
    var output: String?
    @Option(help: "object (relocatable object), c (self-contained C99), c-embed (C23 #embed) or c-incbin (.incbin).")
    var mode: EmbedMode = .object
    @Option(help: "Write the lookup API header here.") var header: String?
    @Option(help: "Write a make dependency file listing every embedded file and directory.") var depfile: String?
    @Option(help: "Who reads --depfile: make (default), cmake (add_custom_command DEPFILE, Makefiles generator) or ninja (Ninja itself).")
    var depfileFormat: DepfileFormat?
    @Option(help: "Where c-embed and c-incbin write the bundle the source pulls in (default: OUTPUT.bundle).")
    var bundle: String?
    @Option(help: "Name files relative to this directory instead of the directory given.") var base: String?
    @Flag(help: "Store files zstd-compressed (a file zstd does not shrink stays uncompressed); link with -lzstd.")
    var compress = false
    @Option(help: "zstd level for --compress (1-22; default 3).") var level: Int32?
    @Flag(help: "Embed files and directories whose name starts with '.'.") var includeHidden = false
    @Flag(help: "Embed what symbolic links point to instead of refusing them.") var followSymlinks = false
    @Option(help: "The C compiler of --mode object (default: $CC or cc; aarch64-linux-gnu-gcc for --target aarch64).") var cc: String?
    @Option(help: "The architecture of --mode object's object (default: this machine's).") var target: Architecture?
    @Argument(help: "Files and directories to embed.") var inputs: [String] = []
    @OptionGroup var progressOptions: ProgressOptions

    /// Options that would be silently ignored are refused instead.
    func validate() throws {
        if level != nil, !compress {
            throw ValidationError("--level is the zstd level of --compress: add --compress, or drop --level")
        }
        if depfileFormat != nil, depfile == nil {
            throw ValidationError("--depfile-format is the format of --depfile: add --depfile, or drop --depfile-format")
        }
        if output == nil {
            for (given, option) in [(depfile != nil, "--depfile"), (bundle != nil, "--bundle"), (compress, "--compress")] where given {
                throw ValidationError("\(option) needs -o: without -o only --header is written")
            }
        }
    }

    func run() throws {
        try perform {
            var embed = Embed(name: name)
            // Paths keep the bytes they were given as, UTF-8 or not.
            embed.inputs = try inputs.map(ArgumentBytes.path)
            embed.rules = EmbedInputs(includeHidden: includeHidden, followSymlinks: followSymlinks,
                                      base: try base.map(ArgumentBytes.path))
            embed.mode = mode
            embed.output = try output.map(ArgumentBytes.path)
            embed.header = try header.map(ArgumentBytes.path)
            embed.depfile = try depfile.map(ArgumentBytes.path)
            embed.depfileFormat = depfileFormat ?? .make
            embed.bundleFile = try bundle.map(ArgumentBytes.path)
            embed.compressionLevel = compress ? level ?? 3 : nil
            embed.compiler = cc
            if let target { embed.target = target }
            embed.progress = progressOptions.progress
            try embed.run()
        }
    }
}
