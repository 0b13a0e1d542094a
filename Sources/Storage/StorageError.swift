/// An operational failure of the store, with a stable code.
package struct StorageError: Error, Equatable, CustomStringConvertible {
    package enum Code: String, Sendable {
        case cannotOpen = "cannot_open"
        case unknownCustomer = "unknown_customer"
        case database
    }

    package var code: Code
    package var detail: String

    package init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    package var description: String { detail }
}
