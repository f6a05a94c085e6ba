import CPolybin

/// Links a payload object with the prebuilt runner archive of the payload's architecture
/// (its ELF header's e_machine) into a static fatbin.
public struct Linker {
    /// The C compiler driver; nil for the architecture's default (`$CC` or `cc` for this
    /// machine's, `aarch64-linux-gnu-gcc` when cross-linking for aarch64).
    public var explicitCompiler: String?
    /// The runner archive; nil for the architecture's default (defaultRunnerArchive(for:)).
    public var explicitRunnerArchive: String?
    /// Where the linker run shows (phase "linking", of unknown size).
    public var progress: Progress = .silent

    public init(compiler: String? = nil, runnerArchive: String? = nil) {
        explicitCompiler = compiler
        explicitRunnerArchive = runnerArchive
    }

    public func compiler(for arch: Architecture) -> String {
        if let explicitCompiler { return explicitCompiler }
        if arch != .host { return "\(arch == .aarch64 ? "aarch64" : "x86_64")-linux-gnu-gcc" }
        return Environment.value("CC") ?? "cc"
    }

    /// The runner archive for `arch`: libPolybinRunner.a for this machine's architecture,
    /// libPolybinRunner-aarch64.a (tools/bootstrap cross-builds it) for aarch64 on x86-64;
    /// POLYBIN_RUNNER (POLYBIN_RUNNER_AARCH64) names another.
    public static func defaultRunnerArchive(for arch: Architecture) -> String {
        if arch == .host { return defaultRunnerArchive() }
        let variable = "POLYBIN_RUNNER_\(arch == .aarch64 ? "AARCH64" : "X86_64")"
        if let explicit = Environment.value(variable) { return explicit }
        let host = defaultRunnerArchive()
        let dir = host.lastIndex(of: "/").map { String(host[...$0]) } ?? ""
        return dir + "libPolybinRunner-\(arch == .aarch64 ? "aarch64" : "x86_64").a"
    }

    /// The runner archive SwiftPM builds beside the polybin executable, in the release
    /// folder next to a debug build, or in PREFIX/lib/polybin for an installed polybin
    /// (`tools/install` writes PREFIX/bin/polybin and PREFIX/lib/polybin/);
    /// POLYBIN_RUNNER names another.
    public static func defaultRunnerArchive() -> String {
        if let explicit = Environment.value("POLYBIN_RUNNER") { return explicit }
        func directory(_ path: String) -> String {
            guard let slash = path.lastIndex(of: "/") else { return "." }
            return slash == path.startIndex ? "/" : String(path[..<slash])
        }
        let own = (try? FileSystem.resolved("/proc/self/exe").description) ?? CommandLine.arguments[0]
        let exe = (try? FileSystem.resolved(FilePath(CommandLine.arguments[0])).description) ?? CommandLine.arguments[0]
        for dir in [directory(own), directory(exe)] {
            for candidate in [dir + "/libPolybinRunner.a", directory(dir) + "/release/libPolybinRunner.a",
                              directory(dir) + "/lib/polybin/libPolybinRunner.a"] {
                if FileSystem.exists(FilePath(candidate)) { return candidate }
            }
        }
        return directory(own) + "/libPolybinRunner.a"
    }

    public func link(payloadObject: String, output: String) throws {
        let header = try Files.readPrefix(payloadObject, count: 64)
        guard let arch = Architecture(elfHeader: header) else {
            throw PolybinError("\(payloadObject): not an x86-64 or aarch64 ELF object (make it with polybin object or by compiling polybin generate-c output)")
        }
        let runnerArchive = explicitRunnerArchive ?? Linker.defaultRunnerArchive(for: arch)
        let compiler = compiler(for: arch)
        guard FileSystem.exists(FilePath(runnerArchive)) else {
            let how = arch == .host ? "swift build -c release --product PolybinRunner" : "tools/bootstrap"
            throw PolybinError("\(runnerArchive): \(arch.name) runner library not found; build it with `\(how)` or pass --runner PATH")
        }
        progress.begin("linking", total: 0)
        try Files.writeAtomically(output, executable: true) { temp in
            // The payload section gets an address past everything else: its own read-only
            // segment, last in the file.
            do {
                try Tool.run(compiler, ["-static", "-s", "-Wl,-z,noexecstack", "-Wl,--gc-sections",
                                        "-Wl,--section-start=\(Fatbin.payloadSection)=0x\(String(Fatbin.payloadAddress, radix: 16))", "-o", temp,
                                        payloadObject, runnerArchive, "-l:libzstd.a"],
                             what: "\(output): linking with the runner")
            } catch let error as PolybinError {
                // The temp name is ours, not the user's: the message names the output, however
                // the tool spelled it (the path given, or its last component).
                let name = { (path: String) in String(path.split(separator: "/").last ?? Substring(path)) }
                throw PolybinError(error.message.replacing(temp, with: output)
                    .replacing(name(temp), with: name(output)))
            }
        }
    }

    /// What `polybin link` takes: a relocatable ELF object that defines `polybin_bundle`, a
    /// whole fatbin bundle of exactly `polybin_bundle_size` bytes, and no `main`. Anything else
    /// would link into a program without the runner (an object with its own main), not link
    /// at all, or give a fatbin that can only fail at run time (a bundle cut short).
    /// The object is mapped and checked in place: only its ELF headers, symbols and the
    /// bundle's header, index and names are read, whatever the size of the payload.
    public static func checkPayloadObject(_ path: String, progress: Progress = .silent) throws {
        let file = try MappedFile(path)
        progress.begin("checking the payload", total: UInt64(file.count))
        // The mapping must outlive every pointer into it, on every path out.
        try withExtendedLifetime(file) { try checkPayloadObject(file, path: path) }
        progress.advance(by: UInt64(file.count))
    }

    private static func checkPayloadObject(_ file: MappedFile, path: String) throws {
        let bytes = file.bytes
        guard let header = try? ELFFile.header(Array(bytes.prefix(64))), header.type == UInt16(PB_ET_REL) else {
            throw PolybinError("\(path): not a relocatable object (make one with polybin object, or compile a generate-c file with cc -c)")
        }
        guard let elf = try? ELFFile(file), elf.sectionCount > 0, (try? elf.sectionsInFile()) != nil else {
            throw PolybinError("\(path): corrupt object: its section headers are damaged or lie past the end of the file")
        }
        let symbols: [String: ELFFile.Symbol]
        do {
            symbols = try elf.definedSymbols()
        } catch {
            throw PolybinError("\(path): corrupt object: \(error)")
        }
        guard let start = symbols[Fatbin.payloadSymbol], let size = symbols[Fatbin.payloadSizeSymbol] else {
            // Say what the object holds, in the words the other verbs use.
            guard try LoadedBundle.locateInObject(bytes, path: path) else {
                throw PolybinError("\(path): holds embedded files, not fatbin builds: link it into your own program instead")
            }
            throw PolybinError("\(path): does not define \(Fatbin.payloadSymbol) and \(Fatbin.payloadSizeSymbol), the symbols the runner reads (was it made with another --symbol?)")
        }
        if symbols["main"] != nil {
            throw PolybinError("\(path): defines main, which would replace the runner's: the program would run without the runner (link the payload object alone)")
        }
        guard let sizeBytes = try? elf.contents(of: elf.section(at: Int(size.section)), at: size.value, count: 8) else {
            throw PolybinError("\(path): corrupt payload: \(Fatbin.payloadSizeSymbol) lies outside its section")
        }
        let declared = sizeBytes.le64(0)
        guard let payload = try? elf.contents(of: elf.section(at: Int(start.section)), at: start.value, count: declared) else {
            throw PolybinError("\(path): corrupt payload: \(Fatbin.payloadSizeSymbol) says \(declared) bytes, more than the section of \(Fatbin.payloadSymbol) holds")
        }
        let bundle = try LoadedBundle.bundle(at: payload, path: path)
        guard bundle.size == declared else {
            throw PolybinError("\(path): corrupt payload: \(Fatbin.payloadSymbol) holds \(declared) bytes, not one bundle of \(bundle.size)")
        }
        guard bundle.isFatbin else {
            throw PolybinError("\(path): holds embedded files, not fatbin builds: link it into your own program instead")
        }
    }
}
