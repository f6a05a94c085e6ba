import Foundation
import Testing

// The two ways the tests learn this machine's x86-64 level, never assumed: what glibc's loader
// says (any build of polybin aside) and what the polybin under test says.

/// The highest level `ld.so --help` says the CPU supports, run natively or under qemu.
package func loaderLevel(qemuCPU: String? = nil) throws -> String {
    let loader = "/lib64/ld-linux-x86-64.so.2"
    let result = qemuCPU.map { try? run("qemu-x86_64", ["-cpu", $0, loader, "--help"]) } ?? (try? run(loader, ["--help"]))
    let text = try #require(result).out
    for level in ["x86-64-v4", "x86-64-v3", "x86-64-v2"] where text.contains("\(level) (supported") {
        return level
    }
    return "x86-64"
}

/// The level `polybin cpu` says this machine gets.
package func hostLevel() throws -> String {
    let result = try run(TestEnvironment.polybin, ["cpu"])
    let line = try #require(result.out.split(separator: "\n").first { $0.hasPrefix("level: ") })
    return String(line.dropFirst("level: ".count))
}
