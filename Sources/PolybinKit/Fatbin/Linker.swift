import Foundation

/// Links a payload object with the prebuilt runner archive into a static fatbin.
public struct Linker {
    public var compiler: String
    public var runnerArchive: String

    public init(compiler: String? = nil, runnerArchive: String) {
        self.compiler = compiler ?? ProcessInfo.processInfo.environment["CC"].flatMap { $0.isEmpty ? nil : $0 } ?? "cc"
        self.runnerArchive = runnerArchive
    }

    /// Where an installed polybin keeps its runner archives, relative to its own directory
    /// (`tools/install` writes PREFIX/bin/polybin and PREFIX/lib/polybin/).
    public static let installedRunnerDirectory = "../lib/polybin"

    /// The runner archive SwiftPM builds beside the polybin executable, in the release
    /// folder next to a debug build, or in PREFIX/lib/polybin for an installed polybin;
    /// POLYBIN_RUNNER names another.
    public static func defaultRunnerArchive() -> String {
        if let explicit = ProcessInfo.processInfo.environment["POLYBIN_RUNNER"], !explicit.isEmpty { return explicit }
        let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let own = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        for dir in [own.deletingLastPathComponent(), exe.deletingLastPathComponent()] {
            for candidate in [dir.appendingPathComponent("libPolybinRunner.a"),
                              dir.deletingLastPathComponent().appendingPathComponent("release/libPolybinRunner.a"),
                              dir.appendingPathComponent(installedRunnerDirectory).appendingPathComponent("libPolybinRunner.a")] {
                if FileManager.default.fileExists(atPath: candidate.path) { return candidate.standardizedFileURL.path }
            }
        }
        return own.deletingLastPathComponent().appendingPathComponent("libPolybinRunner.a").path
    }

    public func link(payloadObject: String, output: String) throws {
        guard FileManager.default.fileExists(atPath: runnerArchive) else {
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
