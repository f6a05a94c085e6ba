// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Polybin",
    products: [
        .executable(name: "polybin", targets: ["polybin"]),
        .library(name: "PolybinKit", targets: ["PolybinKit"]),
        // The fatbin runner: an Embedded Swift static archive that `polybin link` joins with a payload object.
        .library(name: "PolybinRunner", type: .static, targets: ["PolybinRunner"]),
        // Reads embedded files (polybin embed) by name from Swift, through the one C reader.
        .library(name: "PolybinFiles", targets: ["PolybinFiles"]),
        // Embeds files into a C target of another package at build time (Examples/swiftpm-embed).
        .plugin(name: "PolybinEmbed", targets: ["PolybinEmbed"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // The one C layer: bundle reader, SHA-256, CPU detection, selection, zstd glue, syscalls.
        .target(
            name: "CPolybin",
            path: "CSupport/CPolybin",
            exclude: ["audit"],
            linkerSettings: [.linkedLibrary("zstd")]
        ),
        // The audit's disassemblers (Zydis and LLVM through dlopen), declared in CPolybin's pb_disasm.h:
        // a target of its own so that the runner archive, which links CPolybin, never holds it.
        .target(name: "CPolybinAudit", dependencies: ["CPolybin"], path: "CSupport/CPolybin/audit", publicHeadersPath: "."),
        // main() and the payload symbols, only for the runner archive.
        .target(name: "RunnerEntry", dependencies: ["CPolybin"], path: "CSupport/RunnerEntry"),
        .target(
            name: "PolybinRunner",
            dependencies: ["CPolybin", "RunnerEntry"],
            swiftSettings: [.enableExperimentalFeature("Embedded")]
        ),
        .target(
            name: "PolybinKit",
            dependencies: ["CPolybin", "CPolybinAudit"],
            // The generated C's templates, compiled in: polybin needs no file beside it.
            resources: [.embedInCode("Emit/Templates/embed.h.in"), .embedInCode("Emit/Templates/embed.c.in")]
        ),
        .target(name: "PolybinFiles", dependencies: ["CPolybin"]),
        .executableTarget(
            name: "polybin",
            dependencies: ["PolybinKit", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .plugin(name: "PolybinEmbed", capability: .buildTool(), dependencies: ["polybin"]),
        // What the test targets share: paths, the process runner, the one memoiser, the fixtures
        // more than one target builds (docs/contributing.md says which target runs what).
        .target(name: "PolybinTestSupport", dependencies: ["PolybinKit", "CPolybin"], path: "Tests/PolybinTestSupport"),
        // In process: no release build needed (compilers and readelf may run).
        .testTarget(name: "PolybinKitTests", dependencies: ["PolybinTestSupport", "PolybinKit", "CPolybin", "CPolybinAudit"]),
        // Spawn the release polybin and the runner archives (tools/test builds them first).
        .testTarget(name: "PolybinEndToEndTests", dependencies: ["PolybinTestSupport", "PolybinKit", "PolybinFiles", "CPolybin", "CPolybinAudit"]),
        // Root, namespaces, qemu, seccomp, binfmt, setuid: the runner's process semantics.
        .testTarget(name: "PolybinSystemTests", dependencies: ["PolybinTestSupport", "PolybinKit", "CPolybin"]),
    ]
)
