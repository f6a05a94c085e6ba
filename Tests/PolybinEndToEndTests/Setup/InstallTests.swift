import Foundation
import Testing
import PolybinTestSupport

/// `tools/install PREFIX` (README, "Install"): an installed polybin, moved elsewhere with its
/// prefix, builds a fatbin and an embed, by itself and through the installed polybin.mk, from
/// a directory outside the checkout with no polybin on PATH; it is self-contained, and does
/// both with the toolchain's Swift runtime hidden.
@Suite struct InstallTests {
    /// What an install writes: the names tools/install wrote before it kept installed-files,
    /// and the PHP host, which came with installed-files.
    static let installedBeforeTheManifest = [
        "bin/polybin", "lib/polybin/libPolybinRunner.a", "share/polybin/polybin.mk",
        "share/bash-completion/completions/polybin", "share/zsh/site-functions/_polybin",
        "share/fish/vendor_completions.d/polybin.fish",
    ]
    static let installed = installedBeforeTheManifest + [
        "share/polybin/php-host/php-host.mk", "share/polybin/php-host/cpolybin/contract/cache_dir.c",
    ]

    /// Where the checkout's polybin loads libswiftCore.so from (the toolchain's runtime).
    static func swiftRuntimeDirectory() throws -> String {
        let libraries = try run("ldd", [TestEnvironment.polybin])
        let line = try #require(libraries.out.split(separator: "\n").first { $0.contains("libswiftCore.so => ") }, "\(libraries.out)")
        let path = try #require(line.split(separator: " ").first { $0.hasPrefix("/") })
        return String(path[..<path.lastIndex(of: "/")!])
    }

    /// `command` (sh) in a mount namespace of its own with `runtime` hidden under an empty
    /// tmpfs. Needs root, as CI has.
    static func withoutSwiftRuntime(_ runtime: String, _ command: String, environment: [String: String?] = [:]) throws -> ProcessResult {
        try run("/usr/bin/unshare", ["-m", "--", "/bin/sh", "-c", "mount -t tmpfs polybin-no-swift '\(runtime)' && \(command)"],
                environment: environment)
    }

    @Test func anInstalledPolybinWorksOutsideTheCheckoutAndUninstalls() throws {
        let dir = try TestEnvironment.temporaryDirectory("polybin-install")
        defer { try? FileManager.default.removeItem(at: dir) }
        let manager = FileManager.default
        let scratch = URL(fileURLWithPath: TestEnvironment.polybin).deletingLastPathComponent().deletingLastPathComponent().path
        let install = TestEnvironment.root.appendingPathComponent("tools/install").path

        let first = dir.appendingPathComponent("first")
        // A user's file where the CMake package goes: the install neither replaces nor removes it.
        let mine = "lib/cmake/Polybin/Mine.cmake"
        try manager.createDirectory(at: first.appendingPathComponent("lib/cmake/Polybin"), withIntermediateDirectories: true)
        try Data("mine\n".utf8).write(to: first.appendingPathComponent(mine))
        let installing = try run(install, ["--scratch-path", scratch, first.path], environment: ["POLYBIN_PREBUILT": "1"])
        #expect(installing.status == 0, "tools/install: \(installing.err)")
        for path in Self.installed {
            #expect(manager.fileExists(atPath: first.appendingPathComponent(path).path), "\(path) was not installed")
        }

        // Relative to itself: the prefix still works after it moved.
        let prefix = dir.appendingPathComponent("moved")
        try manager.moveItem(at: first, to: prefix)
        let polybin = prefix.appendingPathComponent("bin/polybin").path
        let work = dir.appendingPathComponent("work")
        try manager.createDirectory(at: work, withIntermediateDirectories: true)
        // No polybin on PATH, no runner named: only what the prefix holds.
        let environment: [String: String?] = ["PATH": "/usr/bin:/bin", "POLYBIN_RUNNER": nil, "POLYBIN": nil,
                                              "POLYBIN_CACHE_DIR": dir.appendingPathComponent("cache").path]
        let level = try loaderLevel()

        // Self-contained: no Swift runtime library is loaded, and with the toolchain's runtime
        // directory hidden (an empty tmpfs over it, in a mount namespace of its own) the
        // installed polybin still builds, where the checkout's build cannot even start.
        let runtime = try Self.swiftRuntimeDirectory()
        let libraries = try run("ldd", [polybin])
        #expect(libraries.status == 0 || libraries.err.contains("not a dynamic executable"), "ldd: \(libraries.err)")
        #expect(!libraries.out.contains("libswift") && !libraries.out.contains("libFoundation") && !libraries.out.contains(runtime),
                "the installed polybin loads the Swift runtime:\n\(libraries.out)")
        let unhidden = try Self.withoutSwiftRuntime(runtime, "'\(TestEnvironment.polybin)' --version")
        #expect(unhidden.status != 0 && unhidden.err.contains("libswift"), "hiding \(runtime) did not stop the checkout's polybin: \(unhidden.err)")
        let version = try Self.withoutSwiftRuntime(runtime, "'\(polybin)' --version")
        let checkoutVersion = try run(TestEnvironment.polybin, ["--version"]).out
        #expect(version.status == 0 && version.out == checkoutVersion, "\(version.err)")

        let demo = try DemoFixture.get()
        let fatbin = work.appendingPathComponent("demo").path
        let flavors = DemoFixture.levels.map { "--flavor '\($0)=\(demo.builds[$0]!)'" }.joined(separator: " ")
        let build = try Self.withoutSwiftRuntime(runtime, "cd '\(work.path)' && '\(polybin)' build -o '\(fatbin)' \(flavors)", environment: environment)
        #expect(build.status == 0, "installed polybin build, without the Swift runtime: \(build.err)")
        #expect(try run(fatbin, ["--level"], environment: environment).out == "\(level)\n")

        let web = work.appendingPathComponent("web")
        try manager.createDirectory(at: web, withIntermediateDirectories: true)
        try Data("<p>installed</p>\n".utf8).write(to: web.appendingPathComponent("index.html"))
        try Data("""
            #include <stdio.h>
            #include "assets.h"
            int main(void) { const polybin_file *f = assets_find("index.html"); return f ? (int)fwrite(f->data, 1, f->size, stdout) != (int)f->size : 2; }
            """.utf8).write(to: work.appendingPathComponent("show.c"))
        let embed = try Self.withoutSwiftRuntime(runtime, "cd '\(work.path)' && '\(polybin)' embed --name assets -o assets.o --header assets.h web && cc -I. -o show show.c assets.o",
                                                 environment: environment)
        #expect(embed.status == 0, "installed polybin embed, without the Swift runtime: \(embed.err)")
        #expect(try run(work.appendingPathComponent("show").path).out == "<p>installed</p>\n")

        // The installed polybin.mk finds the polybin and runner installed beside it.
        let project = work.appendingPathComponent("make")
        try manager.createDirectory(at: project, withIntermediateDirectories: true)
        for source in ["main.c", "kernel.c", "kernel.h", "level.c", "level.h"] {
            try manager.copyItem(at: TestEnvironment.root.appendingPathComponent("Examples/fatbin-demo/\(source)"),
                                 to: project.appendingPathComponent(source))
        }
        try Data("""
            POLYBIN_PROGRAM := demo
            POLYBIN_SOURCES := main.c kernel.c level.c
            POLYBIN_LEVELS  := x86-64 x86-64-v2
            POLYBIN_CFLAGS  := -O2
            include \(prefix.path)/share/polybin/polybin.mk

            """.utf8).write(to: project.appendingPathComponent("Makefile"))
        let make = try run("make", ["-C", project.path], environment: environment)
        #expect(make.status == 0, "make with the installed polybin.mk: \(make.err)")
        #expect(make.out.contains("\(polybin) link"), "polybin.mk did not use the installed polybin:\n\(make.out)")
        let expected = level == "x86-64" ? "x86-64" : "x86-64-v2"
        #expect(try run(project.appendingPathComponent("build/demo").path, ["--level"], environment: environment).out == "\(expected)\n")

        // The PHP host builds from the installed prefix too: php-host.mk finds polybin.mk and
        // the CPolybin files beside it, with no path into the checkout (Tests/Fixtures/php-app
        // is only the application being embedded).
        if FileManager.default.fileExists(atPath: "/usr/lib/libphp8.2.so") {
            let phpProject = work.appendingPathComponent("php")
            try manager.createDirectory(at: phpProject, withIntermediateDirectories: true)
            try Data("""
                PHP_APP_DIR   := \(PHPApp.fixtures.appendingPathComponent("php-app").path)
                PHP_APP_ENTRY := bin/app
                PHP_APP       := app
                include \(prefix.path)/share/polybin/php-host/php-host.mk

                """.utf8).write(to: phpProject.appendingPathComponent("Makefile"))
            let php = try run("make", ["-C", phpProject.path], environment: environment)
            #expect(php.status == 0, "make with the installed php-host.mk: \(php.err)")
            #expect(!php.out.contains(TestEnvironment.root.appendingPathComponent("CSupport").path) && php.out.contains("\(prefix.path)/share/polybin/php-host/"),
                    "php-host.mk did not build from the prefix:\n\(php.out)")
            var phpEnvironment = environment
            phpEnvironment["XDG_CACHE_HOME"] = dir.appendingPathComponent("php-cache").path
            let hello = try run(phpProject.appendingPathComponent("build/app").path, ["hello"], environment: phpEnvironment)
            #expect(hello.out == "hello from Commands.php\n", "\(hello.err)")
        } else {
            Issue.record("/usr/lib/libphp8.2.so is missing: run tools/bootstrap (it installs libphp8.2-embed)")
        }

        // Uninstalling removes what the install wrote and nothing else: not a user's runner
        // archive beside the installed ones, not the user's CMake file, not an installed file
        // the user edited (named as kept); the directories the install made go once empty.
        try Data("mine\n".utf8).write(to: prefix.appendingPathComponent("lib/polybin/libPolybinRunner-mine.a"))
        let makefile = prefix.appendingPathComponent("share/polybin/polybin.mk")
        try (try Data(contentsOf: makefile) + Data("# edited\n".utf8)).write(to: makefile)
        let removing = try run(install, ["--uninstall", prefix.path])
        #expect(removing.status == 0, "tools/install --uninstall: \(removing.err)")
        #expect(removing.err.contains("kept \(makefile.path): changed since it was installed"), "\(removing.err)")
        let left = try Self.listing(prefix)
        #expect(left == ["lib", "lib/cmake", "lib/cmake/Polybin", mine, "lib/polybin", "lib/polybin/libPolybinRunner-mine.a",
                         "share", "share/polybin", "share/polybin/polybin.mk"], "\(left)")
        try manager.removeItem(at: makefile)
        let again = try run(install, ["--uninstall", prefix.path])
        #expect(again.status == 0 && again.err.contains("nothing of polybin's to remove"), "\(again.err)")
    }

    /// Every path under `prefix`, relative to it, sorted.
    static func listing(_ prefix: URL) throws -> [String] {
        try run("/bin/sh", ["-c", "cd '\(prefix.path)' && find . -mindepth 1 | sed 's|^\\./||' | LC_ALL=C sort"])
            .out.split(separator: "\n").map(String.init)
    }

    /// An install older than installed-files loses only the exact names tools/install wrote:
    /// a user's files beside them, even ones a glob of those names would match, stay.
    @Test func uninstallingAnOlderInstallRemovesOnlyTheNamesItWrote() throws {
        let prefix = try TestEnvironment.temporaryDirectory("polybin-uninstall")
        defer { try? FileManager.default.removeItem(at: prefix) }
        let written = Self.installedBeforeTheManifest + ["lib/cmake/Polybin/PolybinConfig.cmake", "lib/cmake/Polybin/PolybinLocate.cmake"]
        let users = ["lib/polybin/libPolybinRunner-mine.a", "lib/cmake/Polybin/Mine.cmake", "bin/other"]
        for path in written + users {
            let url = prefix.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(path.utf8).write(to: url)
        }
        let install = TestEnvironment.root.appendingPathComponent("tools/install").path
        let removing = try run(install, ["--uninstall", prefix.path])
        #expect(removing.status == 0 && removing.err.contains("removed polybin from \(prefix.path) (\(written.count) files)"), "\(removing.err)")
        for path in written { #expect(!FileManager.default.fileExists(atPath: prefix.appendingPathComponent(path).path), "\(path) stayed") }
        for path in users { #expect(FileManager.default.fileExists(atPath: prefix.appendingPathComponent(path).path), "\(path) was removed") }
        let nothing = try run(install, ["--uninstall", prefix.appendingPathComponent("empty").path])
        #expect(nothing.status == 0 && nothing.err.contains("nothing of polybin's to remove"), "\(nothing.err)")
        #expect(!nothing.err.contains("removed"), "\(nothing.err)")
    }

    /// installed-files is data, not trust: a path in it leading out of the prefix (`..`, or
    /// through a symbolic link) is never removed, nor a file whose hash differs.
    @Test func uninstallNeverRemovesOutsideThePrefix() throws {
        let dir = try TestEnvironment.temporaryDirectory("polybin-uninstall-outside")
        defer { try? FileManager.default.removeItem(at: dir) }
        let prefix = dir.appendingPathComponent("prefix"), outside = dir.appendingPathComponent("outside")
        try FileManager.default.createDirectory(at: prefix.appendingPathComponent("share/polybin"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        try Data("victim\n".utf8).write(to: outside.appendingPathComponent("victim"))
        try FileManager.default.createSymbolicLink(at: prefix.appendingPathComponent("lib"), withDestinationURL: outside)
        let hash = try run("/bin/sh", ["-c", "sha256sum '\(outside.path)/victim' | cut -c1-64"]).out.trimmingCharacters(in: .whitespacesAndNewlines)
        try Data("file\t\(hash)\t../outside/victim\nfile\t\(hash)\tlib/victim\ndir\t-\tlib\ndir\t-\t..\n".utf8)
            .write(to: prefix.appendingPathComponent("share/polybin/installed-files"))
        let install = TestEnvironment.root.appendingPathComponent("tools/install").path
        let removing = try run(install, ["--uninstall", prefix.path])
        #expect(removing.status == 0, "\(removing.err)")
        #expect(FileManager.default.fileExists(atPath: outside.appendingPathComponent("victim").path), "a file outside the prefix was removed")
        #expect(FileManager.default.fileExists(atPath: dir.path))
        #expect(removing.err.contains("not a path inside"), "\(removing.err)")
    }
}
