import CPolybin

/// The strategies of an order (pb_exec_order.h), first tried first: the order packed into the
/// fatbin (`polybin build --exec`, decoded by pb_bundle_open), or POLYBIN_EXEC's (Variables).
func strategies(_ order: pb_exec_order) -> [UInt32] {
    var list: [UInt32] = []
    withUnsafeBytes(of: order.strategies) { raw in
        for i in 0..<Int(order.count) { list.append(UInt32(raw[i])) }
    }
    return list
}

/// Tries each strategy in turn; returns only by exiting with the runner's failure codes.
func launch(
    _ bundle: inout pb_bundle, index: UInt32, order: pb_exec_order, _ variables: Variables, announce: Text,
    argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>,
    envp: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
) -> Never {
    let name = entry(&bundle, index).name!
    let secure = pb_secure_exec() != 0
    var reasons = Text()
    pb_limits_for_rebuild()
    let log = variables.log
    announce.withCString { announcePointer in
        withUnsafePointer(to: &bundle) { bundlePointer in
            var state = pb_launch()
            state.announce = log ? announcePointer : nil
            state.bundle = bundlePointer
            state.index = index
            state.argv = UnsafePointer(argv)
            state.envp = UnsafePointer(envp)
            // A secure exec runs from memfd only: the cache and temporary directories are places
            // the caller can name, write or plant files in (docs/runner.md, "setuid and setgid fatbins").
            for strategy in secure ? [UInt32(PB_STRATEGY_MEMFD.rawValue)] : strategies(order) {
                var result: Int32
                switch strategy {
                case UInt32(PB_STRATEGY_CACHE.rawValue):
                    // POLYBIN_CACHE_DIR, else the cache policy's place (docs/cache-policy.md).
                    if let dir = variables.cacheDirectory {
                        result = dir.withCString { pb_launch_cache(&state, $0, variables.cacheMax) }
                    } else {
                        result = pb_launch_cache(&state, nil, variables.cacheMax)
                    }
                case UInt32(PB_STRATEGY_MEMFD.rawValue):
                    result = pb_launch_memfd(&state, name)
                default:
                    result = withTemporaryDirectories { pb_launch_tmpfile(&state, $0) }
                }
                var detail = Text()
                withUnsafeBytes(of: &state.detail) { raw in
                    detail.add(raw.baseAddress!.assumingMemoryBound(to: CChar.self))
                }
                if result == Int32(PB_LAUNCH_CORRUPT.rawValue) {
                    failLaunch(RunnerExit.corruptPayload, "corrupt payload: ", name, detail)
                }
                if result == Int32(PB_LAUNCH_REFUSED.rawValue) {
                    failLaunch(RunnerExit.noStrategyWorked, "could not execute ", name, detail)
                }
                if log {
                    var line = Text()
                    line.add("polybin: ")
                    line.add(detail)
                    line.writeLine(to: 2)
                }
                if !reasons.isEmpty { reasons.add("; ") }
                reasons.add(detail)
            }
        }
    }
    var message = Text()
    message.add("could not execute ")
    message.add(name)
    message.add(": ")
    message.add(reasons)
    if secure {
        message.add("; a setuid/setgid fatbin runs only from memfd, never from a cache or temporary directory")
    }
    fail(RunnerExit.noStrategyWorked, message)
}

/// `PREFIX NAME: DETAIL`, the line for a strategy's result that ends the search.
func failLaunch(_ code: Int32, _ prefix: StaticString, _ name: UnsafePointer<CChar>, _ detail: Text) -> Never {
    var message = Text()
    message.add(prefix)
    message.add(name)
    message.add(": ")
    message.add(detail)
    fail(code, message)
}

/// $TMPDIR, /tmp, /dev/shm, /var/tmp: the places a temporary executable may live.
func withTemporaryDirectories(_ body: (UnsafePointer<UnsafePointer<CChar>?>) -> Int32) -> Int32 {
    let fixed: [StaticString] = ["/tmp", "/dev/shm", "/var/tmp"]
    var list: [UnsafePointer<CChar>?] = []
    if let tmpdir = CText.environment("TMPDIR"), tmpdir.isAbsolutePath { list.append(tmpdir.pointer) }
    for dir in fixed { list.append(UnsafeRawPointer(dir.utf8Start).assumingMemoryBound(to: CChar.self)) }
    list.append(nil)
    return list.withUnsafeBufferPointer { body($0.baseAddress!) }
}
