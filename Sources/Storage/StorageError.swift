/// An operational failure of the store, with a stable code.
package struct StorageError: Error, Equatable, CustomStringConvertible {
    package enum Code: String, Sendable {
        case cannotOpen = "cannot_open"
        case unknownCustomer = "unknown_customer"
        /// An uploaded sighting the store cannot take (`recordUploads`); `item` says which.
        case rejectedUpload = "rejected_upload"
        case database
    }

    package var code: Code
    package var detail: String
    /// `rejectedUpload`: the index of the offending upload.
    package var item: Int?

    package init(_ code: Code, _ detail: String, item: Int? = nil) {
        self.code = code
        self.detail = detail
        self.item = item
    }

    package var description: String { detail }
}
