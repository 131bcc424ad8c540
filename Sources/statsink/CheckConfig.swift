import ArgumentParser
import StatSink
import StatSinkConfig

/// `statsink check-config FILE`
struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Print the effective configuration, or every error in it.",
        discussion: """
            Reads the Envoy-shaped YAML file, applies the documented defaults and hands each \
            sink's producer properties to librdkafka's own configuration check. On success prints \
            the effective configuration (secrets redacted) and exits 0; otherwise prints one line \
            per problem (FILE:LINE: KEY.PATH: what was expected) to stderr and exits 2.
            """
    )

    @Argument(help: "The configuration file (YAML).")
    var file: String

    func run() throws {
        do {
            let configuration = try ConfigurationCheck.load(path: file)
            print(ConfigurationCheck.report(configuration), terminator: "")
        } catch {
            for problem in error.problems { printError(problem.description) }
            throw ExitCode(2)
        }
    }
}
