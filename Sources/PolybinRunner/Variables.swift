import CPolybin

/// The POLYBIN_* variables the runner reads, each checked once at start against its one rule
/// (docs/runner.md, "Runner environment"). A variable that is set is always checked, whether or not
/// this launch would use it, and a value that breaks its rule (an empty one included) exits
/// 120 with one line naming the variable. Under a secure exec pb_env reports every variable
/// unset, so none of this applies there.
struct Variables {
    var explain = false
    var log = false
    /// A well-formed flavor name; whether this fatbin has it, and this CPU can run it, is
    /// decided later (122).
    var flavor: CText?
    /// nil: the order packed into the fatbin.
    var exec: pb_exec_order?
    /// POLYBIN_CACHE_DIR: absolute, trailing slashes removed.
    var cacheDirectory: Text?
    var cacheMax: UInt64 = 512 << 20

    static func read() -> Variables {
        var v = Variables()
        v.explain = flag("POLYBIN_EXPLAIN")
        v.log = flag("POLYBIN_LOG")
        if let value = CText.variable("POLYBIN_FLAVOR") {
            if pb_flavor_name_valid(value.pointer, value.count) == 0 {
                malformed("POLYBIN_FLAVOR", value, "a flavor name (1 to 64 of A-Z a-z 0-9 . _ - +)")
            }
            v.flavor = value
        }
        if let value = CText.variable("POLYBIN_EXEC") {
            v.exec = execOrder(value)
        }
        if let value = CText.variable("POLYBIN_CACHE_DIR") {
            if !value.isAbsolutePath {
                malformed("POLYBIN_CACHE_DIR", value, "an absolute path")
            }
            var dir = Text()
            dir.add(value.pointer)
            while dir.bytes.count > 1 && dir.bytes.last == 0x2F { dir.bytes.removeLast() }
            v.cacheDirectory = dir
        }
        if let value = CText.variable("POLYBIN_CACHE_MAX") {
            v.cacheMax = size(value)
        }
        if let value = CText.variable("POLYBIN_TEST_KILL_AT") {
            if !(value.equals("reserved") || value.equals("memfd-written") || value.equals("tmpfile-written")
                 || value.equals("cache-written")) {
                malformed("POLYBIN_TEST_KILL_AT", value, "reserved, memfd-written, tmpfile-written or cache-written (a test hook)")
            }
        }
        return v
    }

    /// Exactly "1" (on) or "0" (off); unset is off.
    static func flag(_ name: StaticString) -> Bool {
        guard let value = CText.variable(name) else { return false }
        if value.equals("1") { return true }
        if value.equals("0") { return false }
        malformed(name, value, "1 or 0")
    }

    /// A non-empty comma-separated list of cache, memfd, tmpfile, each at most once
    /// (pb_exec_order_parse, the rule `polybin build --exec` follows).
    static func execOrder(_ spec: CText) -> pb_exec_order {
        var order = pb_exec_order()
        if pb_exec_order_parse(spec.pointer, spec.count, &order, nil, nil) != PB_EXEC_ORDER_OK {
            malformed("POLYBIN_EXEC", spec, "a comma-separated list of cache, memfd, tmpfile, each at most once")
        }
        return order
    }

    /// Decimal bytes, optionally followed by one of K, M, G (1024, 1024^2, 1024^3), below 2^64.
    static func size(_ spec: CText) -> UInt64 {
        let expected: StaticString = "a size in bytes below 2^64: digits, optionally followed by K, M or G"
        var value: UInt64 = 0
        var i = 0
        while spec.pointer[i] >= 0x30 && spec.pointer[i] <= 0x39 {
            let digit = UInt64(spec.pointer[i] - 0x30)
            if value > (UInt64.max - digit) / 10 { malformed("POLYBIN_CACHE_MAX", spec, expected) }
            value = value * 10 + digit
            i += 1
        }
        if i == 0 { malformed("POLYBIN_CACHE_MAX", spec, expected) }
        var shift: UInt64 = 0
        switch spec.pointer[i] {
        case 0: return value
        case 0x4B: shift = 10
        case 0x4D: shift = 20
        case 0x47: shift = 30
        default: malformed("POLYBIN_CACHE_MAX", spec, expected)
        }
        if spec.pointer[i + 1] != 0 || value > UInt64.max >> shift { malformed("POLYBIN_CACHE_MAX", spec, expected) }
        return value << shift
    }
}

/// `polybin: NAME: expected WHAT, got "VALUE"`, exit 120; the value quoted and escaped.
func malformed(_ name: StaticString, _ value: CText, _ expected: StaticString) -> Never {
    var message = Text()
    message.add(name)
    message.add(": expected ")
    message.add(expected)
    message.add(", got ")
    message.add(quoted: value)
    fail(RunnerExit.badEnvironment, message)
}
