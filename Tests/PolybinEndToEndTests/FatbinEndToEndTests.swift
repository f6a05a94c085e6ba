import Foundation
import Testing
@testable import PolybinKit
import PolybinTestSupport

/// Real builds of a real multi-file C program, packed, linked and run.
@Suite struct FatbinEndToEndTests {
    @Test func runsTheBuildTheHostShouldGet() throws {
        let demo = try DemoFixture.get()
        let expected = try loaderLevel()
        let result = try run(demo.fatbin, ["--level"])
        #expect(result.status == 0)
        #expect(result.out == "\(expected)\n")
        #expect(result.err.isEmpty)
    }

    @Test(arguments: ["cache", "memfd", "tmpfile"])
    func outputIsIdenticalToTheSelectedBuildRunDirectly(strategy: String) throws {
        let demo = try DemoFixture.get()
        let cache = try TestEnvironment.temporaryDirectory("polybin-cache")
        defer { try? FileManager.default.removeItem(at: cache) }
        let env = ["POLYBIN_EXEC": strategy, "POLYBIN_CACHE_DIR": cache.path]
        let selected = try #require(selectedFlavor(run(demo.fatbin, environment: ["POLYBIN_EXPLAIN": "1"]).out))
        let direct = try run(demo.builds[selected]!, ["a b", "", "c"])
        for _ in 0..<2 {  // cold, then warm for the cache
            let packed = try run(demo.fatbin, ["a b", "", "c"], environment: env)
            #expect(packed.status == direct.status)
            #expect(packed.stdout == direct.stdout)
            #expect(packed.err.isEmpty)
        }
    }

    @Test func logModePrintsOneDecisionLineOnStderr() throws {
        let demo = try DemoFixture.get()
        let result = try run(demo.fatbin, ["--level"], environment: ["POLYBIN_LOG": "1", "POLYBIN_EXEC": "memfd"])
        #expect(result.status == 0)
        #expect(result.err.hasPrefix("polybin: cpu \(try loaderLevel()), running "))
        #expect(result.err.split(separator: "\n").count == 1)
        #expect(result.out == "\(try loaderLevel())\n")
    }

    @Test func extractIsByteIdenticalForEveryFlavor() throws {
        let demo = try DemoFixture.get()
        for level in DemoFixture.levels {
            let out = demo.dir.appendingPathComponent("extracted.\(level)").path
            let result = try run(TestEnvironment.polybin, ["extract", demo.fatbin, "--flavor", level, "-o", out])
            #expect(result.status == 0, "\(result.err)")
            #expect(FileManager.default.contentsEqual(atPath: out, andPath: demo.builds[level]!))
        }
    }

    @Test func explainVerbMatchesTheRunnersOwnDecisionTable() throws {
        let demo = try DemoFixture.get()
        let runner = try run(demo.fatbin, environment: ["POLYBIN_EXPLAIN": "1"])
        let tool = try run(TestEnvironment.polybin, ["explain", demo.fatbin])
        #expect(runner.status == 0)
        #expect(tool.status == 0)
        #expect(runner.out == tool.out)
        #expect(selectedFlavor(runner.out) == (try loaderLevel()))
    }

    @Test func inspectJSONDescribesEveryFlavor() throws {
        let demo = try DemoFixture.get()
        let result = try run(TestEnvironment.polybin, ["inspect", "--json", demo.fatbin])
        #expect(result.status == 0)
        let json = try #require(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])
        let flavors = try #require(json["flavors"] as? [[String: Any]])
        #expect(flavors.compactMap { $0["name"] as? String }.sorted() == DemoFixture.levels)
        for flavor in flavors {
            let name = try #require(flavor["name"] as? String)
            let size = try #require(flavor["size"] as? Int)
            let build = try Data(contentsOf: URL(fileURLWithPath: demo.builds[name]!))
            #expect(size == build.count)
            #expect(flavor["sha256"] as? String == SHA256.hex(SHA256.digest([UInt8](build))))
            #expect((flavor["stored_size"] as? Int ?? .max) < size)
            #expect(flavor["features"] is [String])
        }
    }

    @Test func fatbinIsStaticAndTheRunnerAddsUnderOneMiB() throws {
        let demo = try DemoFixture.get()
        let file = try run("file", ["-b", demo.fatbin])
        #expect(file.out.contains("statically linked"))
        let dynamic = try run("readelf", ["-d", demo.fatbin])
        #expect(!dynamic.out.contains("NEEDED"))
        let program = try run("readelf", ["-lW", demo.fatbin]).out
        #expect(program.contains("GNU_STACK"))
        #expect(!program.split(separator: "\n").contains { $0.contains("GNU_STACK") && $0.contains("RWE") })
        let report = try Fatbin.inspect(LoadedBundle(path: demo.fatbin))
        #expect(report.file_size - report.bundle_size <= 1 << 20)
        // The payload is last in the file, in a read-only segment of its own.
        let loads = program.split(separator: "\n").filter { $0.contains("LOAD") }
        #expect(loads.last?.contains("0x0000000040000000") == true)
        #expect(loads.last?.hasSuffix("R   0x1000") == true)
    }

    @Test func forcedFlavorRunsAndUnknownOrUnusableFlavorsAreRefused() throws {
        let demo = try DemoFixture.get()
        let forced = try run(demo.fatbin, ["--level"], environment: ["POLYBIN_FLAVOR": "x86-64"])
        #expect(forced.out == "x86-64\n")
        let unknown = try run(demo.fatbin, environment: ["POLYBIN_FLAVOR": "nope"])
        #expect(unknown.status == 122)
        #expect(unknown.err.hasPrefix("polybin: POLYBIN_FLAVOR=nope: no such flavor"))
        #expect(unknown.stdout.isEmpty)
    }

    @Test func badExecOrderIsABadEnvironment() throws {
        let demo = try DemoFixture.get()
        let result = try run(demo.fatbin, environment: ["POLYBIN_EXEC": "cache,floppy"])
        #expect(result.status == 120)
        #expect(result.err == "polybin: POLYBIN_EXEC: expected a comma-separated list of cache, memfd, tmpfile, each at most once, got \"cache,floppy\"\n")
    }

    @Test func packTimeExecOrderIsStoredAndUsed() throws {
        let demo = try DemoFixture.get()
        let out = demo.dir.appendingPathComponent("no-memfd").path
        try DemoFixture.buildFatbin(out, flavors: ["x86-64=\(demo.builds["x86-64"]!)"], extra: ["--exec", "tmpfile"])
        let report = try Fatbin.inspect(LoadedBundle(path: out))
        #expect(report.exec_order == ["tmpfile"])
        let result = try run(out, ["--level"], environment: ["POLYBIN_LOG": "1"])
        #expect(result.out == "x86-64\n")
        #expect(result.err.contains("via tmpfile"))
    }

    @Test func pipelineVerbsOneByOneGiveTheSameFatbinAsBuild() throws {
        let demo = try DemoFixture.get()
        let dir = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let flavors = DemoFixture.levels.flatMap { ["--flavor", "\($0)=\(demo.builds[$0]!)"] }
        let bundle = dir.appendingPathComponent("demo.bundle").path
        let object = dir.appendingPathComponent("demo.o").path
        let source = dir.appendingPathComponent("demo.c").path
        let compiled = dir.appendingPathComponent("demo-c.o").path
        #expect(try run(TestEnvironment.polybin, ["pack", "-o", bundle] + flavors).status == 0)
        #expect(try run(TestEnvironment.polybin, ["object", bundle, "-o", object]).status == 0)
        #expect(try run(TestEnvironment.polybin, ["generate-c", bundle, "-o", source]).status == 0)
        #expect(try run("cc", ["-std=c99", "-c", source, "-o", compiled]).status == 0)
        for payload in [object, compiled] {
            let app = payload + ".app"
            let link = try run(TestEnvironment.polybin, ["link", payload, "-o", app, "--runner", TestEnvironment.runnerArchive])
            #expect(link.status == 0, "\(link.err)")
            #expect(try run(app, ["--level"]).out == "\(try loaderLevel())\n")
            #expect(try run(TestEnvironment.polybin, ["inspect", "--json", app]).out.contains("\"x86-64-v4\""))
        }
        let sections = try run("readelf", ["-SW", object]).out
        #expect(sections.split(separator: "\n").contains { $0.contains(" .polybin ") && $0.contains(" A ") && !$0.contains("WA") })
        #expect(sections.contains(".note.GNU-stack"))
        let symbols = try run("readelf", ["-sW", object]).out.split(separator: "\n").filter { $0.contains("polybin_bundle") }
        #expect(symbols.count == 2)
        #expect(symbols.allSatisfy { !$0.contains(" ABS ") && $0.contains("GLOBAL") })
    }
}
