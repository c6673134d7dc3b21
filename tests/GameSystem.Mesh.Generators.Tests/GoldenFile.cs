using System.Reflection;
using System.Text;

namespace GameSystem.Mesh.Generators.Tests;

/// <summary>
/// Compares emitted source with the files under <c>Golden/</c>. Run the tests with
/// <c>GAMESYSTEM_UPDATE_GOLDEN=1</c> to rewrite them instead, then review the diff.
/// </summary>
internal static class GoldenFile
{
    public const string UpdateVariable = "GAMESYSTEM_UPDATE_GOLDEN";

    // The source folder, not a copy in bin/: an update must land in the files that get committed.
    public static string Directory { get; } = typeof(GoldenFile).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "GoldenDirectory").Value!;

    public static bool Updating => Environment.GetEnvironmentVariable(UpdateVariable) == "1";

    public static IReadOnlyList<string> Names() =>
        [.. System.IO.Directory.EnumerateFiles(Directory, "*.g.cs").Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal)];

    public static void AssertMatches(string name, string actual)
    {
        var path = Path.Combine(Directory, name);
        if (Updating)
        {
            File.WriteAllText(path, actual, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
            return;
        }

        Assert.True(File.Exists(path), $"{path} does not exist. Run the tests with {UpdateVariable}=1 to write it, review it, and commit it.");
        var expected = File.ReadAllText(path).ReplaceLineEndings("\n");
        if (expected != actual)
        {
            Assert.Fail($"{name} differs from the golden file {path}.\nFirst difference at {FirstDifference(expected, actual)}\n"
                + $"If the change is intended, run the tests with {UpdateVariable}=1 and review the diff.");
        }
    }

    public static void Delete(string name) => File.Delete(Path.Combine(Directory, name));

    private static string FirstDifference(string expected, string actual)
    {
        var expectedLines = expected.Split('\n');
        var actualLines = actual.Split('\n');
        for (var i = 0; i < Math.Max(expectedLines.Length, actualLines.Length); i++)
        {
            var e = i < expectedLines.Length ? expectedLines[i] : "<end of file>";
            var a = i < actualLines.Length ? actualLines[i] : "<end of file>";
            if (e != a)
            {
                return $"line {i + 1}:\n  golden:  {e}\n  emitted: {a}";
            }
        }

        return "no line (the files differ in their line endings)";
    }
}
