import Foundation
import Testing
import PolybinTestSupport
@testable import PolybinKit

/// `polybin audit`'s linking sections (issue 19) agree with the system's tools: DT_NEEDED with
/// `readelf -d`, where each library is found with `ldd`, the newest version needed with
/// `objdump -T`, the loader cache with `ldconfig -p`.
@Suite struct AuditLinkingTests {
    /// Programs of this machine and of the toolchain (what exists of them).
    static let programs: [String] = {
        var paths = ["/usr/bin/ls", "/usr/bin/env", "/usr/bin/sort", "/usr/bin/gcc", "/usr/bin/ld.bfd", "/usr/bin/objdump",
                     "/usr/bin/make", "/usr/bin/readelf", "/usr/bin/swift-frontend", "/usr/bin/cmake", "/usr/bin/php8.2"]
        if let clang = try? run("/bin/sh", ["-c", "readlink -f \"$(command -v clang)\""]).out
            .trimmingCharacters(in: .whitespacesAndNewlines), !clang.isEmpty { paths.append(clang) }
        if let swift = try? run("/bin/sh", ["-c", "readlink -f \"$(command -v swift-frontend)\""]).out
            .trimmingCharacters(in: .whitespacesAndNewlines), !swift.isEmpty { paths.append(swift) }
        return Array(Set(paths.filter { FileManager.default.isExecutableFile(atPath: $0) })).sorted()
    }()

    var options: Audit.Options { var o = Audit.Options(); o.cpu = false; return o }

    @Test func loaderCacheListsWhatLdconfigLists() throws {
        let cache = LoaderCache.system()
        let listed = try mustRun("/sbin/ldconfig", ["-p"]).out.split(separator: "\n").dropFirst().compactMap { line -> (String, String)? in
            // "\tlibz.so.1 (libc6,x86-64) => /lib/x86_64-linux-gnu/libz.so.1"
            let parts = line.trimmingCharacters(in: .whitespaces).components(separatedBy: " => ")
            guard parts.count == 2, let name = parts[0].split(separator: " ").first else { return nil }
            return (String(name), parts[1])
        }
        #expect(!listed.isEmpty)
        #expect(cache.entries.count == listed.count, "ldconfig -p lists \(listed.count), the parser \(cache.entries.count)")
        for ((name, path), entry) in zip(listed, cache.entries) {
            #expect(entry.soname == name && entry.path == path, "\(name) => \(path) read as \(entry.soname) => \(entry.path)")
        }
    }

    @Test func damagedCachesGiveFewerEntriesNotACrash() throws {
        let bytes = try Files.read("/etc/ld.so.cache")
        for cut in [0, 10, 20, 47, 48, 71, 72, bytes.count / 2] where cut <= bytes.count {
            _ = LoaderCache(Array(bytes.prefix(cut)))
        }
        var lying = bytes
        if lying.count > 60 { lying[52] = 0xff; lying[53] = 0xff; lying[54] = 0xff; lying[55] = 0x7f }  // a key far past the end
        #expect(LoaderCache(lying).entries.isEmpty, "the first entry's key lies: nothing past it is trusted")
    }

    @Test func librariesAgreeWithReadelfAndLdd() throws {
        try #require(!Self.programs.isEmpty)
        for program in Self.programs {
            let report = try Audit.report(program, options: options)
            let build = try #require(report.builds.first)
            let readelf = try mustRun("readelf", ["-d", "-W", program]).out
            let needed = readelf.split(separator: "\n").filter { $0.contains("(NEEDED)") }.compactMap { line in
                line.split(separator: "[").last?.split(separator: "]").first.map(String.init)
            }
            #expect(build.libraries.map(\.name) == needed, "\(program)")
            guard build.interpreter != nil else { continue }
            let ldd = try run("ldd", [program]).out
            for library in build.libraries {
                // "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)", or for the loader itself
                // "\t/lib64/ld-linux-x86-64.so.2 (0x...)".
                let lines = ldd.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
                let line = lines.first { $0.hasPrefix(library.name + " ") } ?? lines.first { $0.hasPrefix("/") && $0.contains("/" + library.name + " ") }
                let lddPath = line?.components(separatedBy: " => ").last?.split(separator: " ").first.map(String.init)
                if lddPath == "not" || line == nil {
                    #expect(library.path == nil, "\(program): \(library.name) ldd finds none, the audit \(library.path ?? "")")
                } else {
                    let ours = try #require(library.path, "\(program): \(library.name) missing, ldd: \(lddPath ?? "")")
                    #expect(Files.sameFile(ours, lddPath!), "\(program): \(library.name) at \(ours), ldd: \(lddPath!)")
                }
            }
        }
    }

    @Test func newestVersionsAgreeWithObjdump() throws {
        for program in Self.programs {
            let build = try #require(try Audit.report(program, options: options).builds.first)
            // objdump -T: "0000000000000000      DF *UND*  0000000000000000 (GLIBC_2.34) __libc_start_main"
            var newest: [String: String] = [:]
            for line in try mustRun("objdump", ["-T", program]).out.split(separator: "\n") where line.contains("*UND*") {
                guard let open = line.firstIndex(of: "("), let close = line[open...].firstIndex(of: ")") else { continue }
                let version = String(line[line.index(after: open)..<close])
                let prefix = RuntimeVersions.split(version).prefix
                guard !RuntimeVersions.split(version).numbers.isEmpty else { continue }
                if newest[prefix].map({ RuntimeVersions.compare(version, $0) > 0 }) ?? true { newest[prefix] = version }
            }
            var ours: [String: String] = [:]
            for need in build.versions where !RuntimeVersions.split(need.newest).numbers.isEmpty {
                let prefix = RuntimeVersions.split(need.newest).prefix
                if ours[prefix].map({ RuntimeVersions.compare(need.newest, $0) > 0 }) ?? true { ours[prefix] = need.newest }
                #expect(need.symbols.isEmpty || need.symbols.allSatisfy { !$0.isEmpty }, "\(program)")
            }
            #expect(ours == newest, "\(program): audit \(ours), objdump -T \(newest)")
        }
    }

    @Test func runpathWithOriginIsFollowed() throws {
        let dir = try TestEnvironment.temporaryDirectory("audit-origin")
        let lib = dir.appendingPathComponent("lib")
        try FileManager.default.createDirectory(at: lib, withIntermediateDirectories: true)
        try "int helper(void) { return 4; }\n".write(to: dir.appendingPathComponent("h.c"), atomically: true, encoding: .utf8)
        try "int helper(void); int main(void) { return helper(); }\n".write(to: dir.appendingPathComponent("m.c"), atomically: true, encoding: .utf8)
        try mustRun("gcc", ["-shared", "-fPIC", "-Wl,-soname,libhelper.so.1", "-o", lib.appendingPathComponent("libhelper.so.1").path,
                            dir.appendingPathComponent("h.c").path])
        try FileManager.default.createSymbolicLink(atPath: lib.appendingPathComponent("libhelper.so").path, withDestinationPath: "libhelper.so.1")
        for (flag, how) in [("-Wl,--enable-new-dtags", "runpath"), ("-Wl,--disable-new-dtags", "rpath")] {
            let program = dir.appendingPathComponent("m-\(how)").path
            try mustRun("gcc", ["-o", program, dir.appendingPathComponent("m.c").path, "-L", lib.path, "-lhelper", flag, "-Wl,-rpath,$ORIGIN/lib"])
            let build = try #require(try Audit.report(program, options: options).builds.first)
            let helper = try #require(build.libraries.first { $0.name == "libhelper.so.1" })
            #expect(helper.found_by == how && helper.path.map { Files.sameFile($0, lib.appendingPathComponent("libhelper.so.1").path) } == true,
                    "\(how): \(helper)")
            #expect(try run(program).status == 4, "the loader finds it too")
        }
        try FileManager.default.removeItem(at: lib.appendingPathComponent("libhelper.so.1"))
        let build = try #require(try Audit.report(dir.appendingPathComponent("m-runpath").path, options: options).builds.first)
        #expect(build.libraries.first { $0.name == "libhelper.so.1" }?.path == nil, "a library gone is reported missing")
        #expect(AuditText.describe(try Audit.report(dir.appendingPathComponent("m-runpath").path, options: options))
            .contains("libhelper.so.1 => not found on this machine"))
    }

    /// A static PIE carries a dynamic section for its own relocations: still static, no library.
    @Test func staticProgramsNeedNoLibraryPIEOrNot() throws {
        let dir = try TestEnvironment.temporaryDirectory("audit-static")
        let source = dir.appendingPathComponent("s.c")
        try "#include <stdio.h>\nint main(void) { puts(\"hi\"); return 0; }\n".write(to: source, atomically: true, encoding: .utf8)
        for flag in ["-static", "-static-pie"] {
            let program = dir.appendingPathComponent("s\(flag)").path
            try mustRun("gcc", ["-O1", flag, "-o", program, source.path])
            let build = try #require(try Audit.report(program, options: options).builds.first)
            #expect(build.linking == "static" && build.libraries.isEmpty && build.interpreter == nil && build.versions.isEmpty, "\(flag): \(build.linking)")
            #expect(build.minimum_kernel != nil, "\(flag): glibc stamps the ABI note")
        }
    }

    @Test func distributionsAreNamedByTheNewestVersionNeeded() {
        let needs = [RuntimeVersions.Need(library: "libc.so.6", newest: "GLIBC_2.34", symbols: ["__libc_start_main"], versions: ["GLIBC_2.2.5", "GLIBC_2.34"])]
        let verdict = Distribution.verdict(needs)
        #expect(verdict.runsOn == ["Debian 12 and later", "Ubuntu 22.04 and later", "RHEL 9"])
        #expect(verdict.notOn == ["Debian 10 (has GLIBC_2.28)", "Debian 11 (has GLIBC_2.31)", "Ubuntu 20.04 (has GLIBC_2.31)", "RHEL 8 (has GLIBC_2.28)"])
        let cxx = needs + [.init(library: "libstdc++.so.6", newest: "GLIBCXX_3.4.30", symbols: [], versions: ["GLIBCXX_3.4.30"])]
        #expect(Distribution.verdict(cxx).runsOn == ["Debian 12 and later", "Ubuntu 22.04 and later"], "RHEL 9 has GLIBCXX_3.4.29")
        #expect(Distribution.verdict([.init(library: "libc.so.6", newest: "GLIBC_PRIVATE", symbols: [], versions: [])]).notOn.isEmpty)
        #expect(RuntimeVersions.compare("GLIBC_2.9", "GLIBC_2.34") < 0 && RuntimeVersions.compare("OPENSSL_1_1_1", "OPENSSL_3.0.0") < 0)
        #expect(RuntimeVersions.compare("GLIBC_2.2.5", "GLIBC_2.2") > 0)
    }

    @Test func libmAndLibcVersionsOfTheSameNameAreToldApart() throws {
        let dir = try TestEnvironment.temporaryDirectory("audit-libm")
        let source = dir.appendingPathComponent("m.c")
        try "#include <math.h>\n#include <stdio.h>\nint main(int c, char **v) { printf(\"%f\\n\", exp2(c)); return 0; }\n"
            .write(to: source, atomically: true, encoding: .utf8)
        let program = dir.appendingPathComponent("m").path
        try mustRun("gcc", ["-O1", "-fno-builtin", "-o", program, source.path, "-lm"])
        let build = try #require(try Audit.report(program, options: options).builds.first)
        let libm = try #require(build.versions.first { $0.library == "libm.so.6" })
        #expect(libm.symbols.contains("exp2") && !libm.symbols.contains("printf"), "\(libm)")
        let libc = try #require(build.versions.first { $0.library == "libc.so.6" })
        #expect(!libc.symbols.contains("exp2"), "\(libc)")
    }
}
