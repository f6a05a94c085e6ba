/// An error a user can act on: one line naming the file or entry and the problem.
public struct PolybinError: Error, CustomStringConvertible, Equatable {
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
