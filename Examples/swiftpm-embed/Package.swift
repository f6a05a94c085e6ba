// swift-tools-version: 6.3;(experimentalCGen)
// A Swift program that carries a directory of files, with no Makefile: the PolybinEmbed
// build-tool plugin runs `polybin embed --mode c` during `swift build`, and SwiftPM compiles
// the generated C into the CSite target. experimentalCGen (SwiftPM 6.3) is what lets a
// build-tool plugin hand a C target generated C sources and headers.
import PackageDescription

let package = Package(
    name: "swiftpm-embed",
    dependencies: [
        .package(name: "Polybin", path: "../.."),
    ],
    targets: [
        // Embeds Sources/CSite/site/, as configured in Sources/CSite/polybin-embed.json. The
        // directory is excluded so that SwiftPM never compiles a .c or .h file found in it.
        .target(name: "CSite", exclude: ["site"], plugins: [.plugin(name: "PolybinEmbed", package: "Polybin")]),
        .executableTarget(
            name: "serve-site",
            dependencies: ["CSite", .product(name: "PolybinFiles", package: "Polybin")]
        ),
    ]
)
