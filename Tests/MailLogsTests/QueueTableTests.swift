@testable import MailLogs
import Testing

/// `QueueTable` (open addressing, backward-shift deletion) against `Dictionary`
/// under random inserts, updates and removals over a small key space, so that
/// runs collide, wrap around the end of the table and grow.
@Suite struct QueueTableTests {
    static func key(_ n: Int) -> MessageAssembler.QueueKey {
        n % 3 == 0 ? MessageAssembler.QueueKey(Array("Q\(n)-an-exchange-message-id-longer-than-24@example".utf8)[...])
            : MessageAssembler.QueueKey(Array("\(n)ABCDEF".utf8)[...])
    }

    @Test func behavesAsADictionary() {
        var rng = SystemRandomNumberGenerator()
        for keySpace in [5, 40, 300, 5000] {
            var table = QueueTable<Int>()
            var oracle: [MessageAssembler.QueueKey: Int] = [:]
            for step in 0..<20_000 {
                let k = QueueTableTests.key(Int.random(in: 0..<keySpace, using: &rng))
                switch Int.random(in: 0..<10, using: &rng) {
                case 0..<5:
                    let inserted = table.insert(k, step)
                    #expect(inserted == (oracle.updateValue(step, forKey: k) == nil))
                case 5..<8:
                    #expect(table.remove(k) == oracle.removeValue(forKey: k))
                case 8:
                    #expect(table[k] == oracle[k])
                    #expect(table.contains(k) == (oracle[k] != nil))
                default:
                    if Int.random(in: 0..<500, using: &rng) == 0 {
                        table.removeAll()
                        oracle.removeAll()
                    }
                }
                #expect(table.count == oracle.count)
            }
            for n in 0..<keySpace {
                let k = QueueTableTests.key(n)
                #expect(table[k] == oracle[k], "key space \(keySpace), key \(n)")
            }
        }
    }
}
