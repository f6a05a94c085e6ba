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
            try Tool.run(compiler, ["-static", "-s", "-Wl,-z,noexecstack", "-Wl,--gc-sections",
                                    "-Wl,--section-start=\(Fatbin.payloadSection)=0x40000000", "-o", temp,
                                    payloadObject, runnerArchive, "-l:libzstd.a"],
                         what: "linking \(output)")
        }
    }
}
