/// What one input did to a fuzz target.
public struct FuzzOutcome: Sendable, Hashable {
    /// The verdict of the oracles.
    public enum Verdict: Sendable, Hashable {
        /// The code under test took the input, and every oracle held.
        case accepted
        /// The code under test refused the input with its documented error, as it should.
        case rejected
        /// An oracle did not hold: a bug in the code under test (or in the oracle).
        case failure(String)
    }

    /// The verdict.
    public var verdict: Verdict
    /// A short class of the outcome (e.g. the shape of an error message): inputs with a class
    /// not seen before join the corpus, and the report counts the classes.
    public var signature: String

    /// Creates an outcome.
    public init(_ verdict: Verdict, signature: String) {
        self.verdict = verdict
        self.signature = signature
    }

    /// An accepted input of class `signature`.
    public static func accepted(_ signature: String) -> FuzzOutcome {
        FuzzOutcome(.accepted, signature: "accepted: " + signature)
    }

    /// An input rejected with an error of class `signature`.
    public static func rejected(_ signature: String) -> FuzzOutcome {
        FuzzOutcome(.rejected, signature: "rejected: " + signature)
    }

    /// A broken oracle, described by `message`.
    public static func failure(_ message: String) -> FuzzOutcome {
        FuzzOutcome(.failure(message), signature: "FAILURE")
    }

    /// The failure message, when an oracle did not hold.
    public var failureMessage: String? {
        if case .failure(let message) = verdict { return message }
        return nil
    }

    /// The class of an error message: quoted text, digits and the tail after 70 characters
    /// dropped, so that one kind of error is one class whatever value it names.
    public static func shape(of message: String) -> String {
        var result = ""
        var quote: Character?
        var escaped = false
        var lastWasDigit = false
        for character in message {
            if let open = quote {
                if escaped {
                    escaped = false
                } else if character == "\\" {
                    escaped = true
                } else if character == open {
                    quote = nil
                }
                continue
            }
            if character == "\"" {
                quote = character
                result += "\"…\""
                lastWasDigit = false
                continue
            }
            if character.isNumber {
                if !lastWasDigit { result += "#" }
                lastWasDigit = true
                continue
            }
            lastWasDigit = false
            result.append(character)
            if result.count >= 70 { break }
        }
        return result
    }
}
