import Foundation

/// Links a payload object with the prebuilt runner archive into a static fatbin.
public struct Linker {
    public var compiler: String
    public var runnerArchive: String

    public init(compiler: String? = nil, runnerArchive: String) {
        self.compiler = compiler ?? ProcessInfo.processInfo.environment["CC"].flatMap { $0.isEmpty ? nil : $0 } ?? "cc"
        self.runnerArchive = runnerArchive
    }

    /// The runner archive SwiftPM builds beside the polybin executable, in the release
    /// folder next to a debug build, or in PREFIX/lib/polybin for an installed polybin
    /// (`tools/install` writes PREFIX/bin/polybin and PREFIX/lib/polybin/);
    /// POLYBIN_RUNNER names another.
    public static func defaultRunnerArchive() -> String {
        if let explicit = ProcessInfo.processInfo.environment["POLYBIN_RUNNER"], !explicit.isEmpty { return explicit }
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
        guard FileSystem.exists(FilePath(runnerArchive)) else {
            throw PolybinError("\(runnerArchive): runner library not found; build it with `swift build -c release --product PolybinRunner` or pass --runner PATH")
        }
        try Files.writeAtomically(output, executable: true) { temp in
            // The payload section gets an address past everything else: its own read-only
            // segment, last in the file.
            do {
                try Tool.run(compiler, ["-static", "-s", "-Wl,-z,noexecstack", "-Wl,--gc-sections",
                                        "-Wl,--section-start=\(Fatbin.payloadSection)=0x40000000", "-o", temp,
                                        payloadObject, runnerArchive, "-l:libzstd.a"],
                             what: "\(output): linking with the runner")
            } catch let error as PolybinError {
                // The temp name is ours, not the user's: the message names the output.
                throw PolybinError(error.message.replacingOccurrences(of: temp, with: output))
            }
        }
    }

    /// What `polybin link` takes: a relocatable ELF object holding a fatbin payload under the
    /// runner's symbols. Anything else would link into a program without the runner (an
    /// object with its own main) or not at all.
    public static func checkPayloadObject(_ path: String) throws {
        let bytes = try Files.read(path)
        guard bytes.count >= 64, bytes.starts(with: [0x7F, 0x45, 0x4C, 0x46]), bytes[16] == 1, bytes[17] == 0 else {
            throw PolybinError("\(path): not a relocatable object (make one with polybin object, or compile a generate-c file with cc -c)")
        }
        let bundle = try LoadedBundle(bytes: bytes, path: path)
        guard bundle.isFatbin else {
            throw PolybinError("\(path): holds embedded files, not fatbin builds: link it into your own program instead")
        }
        guard LoadedBundle.contains(bytes, Array("polybin_bundle_size\u{0}".utf8)) else {
            throw PolybinError("\(path): does not define polybin_bundle and polybin_bundle_size, the symbols the runner reads (was it made with another --symbol?)")
        }
    }
}
