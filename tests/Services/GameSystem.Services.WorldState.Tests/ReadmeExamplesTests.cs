using System.Text.RegularExpressions;
using GameSystem.WorldState.V1;
using Google.Protobuf;

namespace GameSystem.Services.WorldState.Tests;

/// <summary>The shell examples of the README's world-state section are requests the service's contract parses.</summary>
public sealed partial class ReadmeExamplesTests
{
    [Fact]
    public void EveryGsCallOfWorldState_InTheReadme_IsValidProto3JsonOfItsRequest()
    {
        var readme = File.ReadAllText(Path.Combine(RepositoryRoot(), "README.md"));
        var calls = GsCall().Matches(readme);
        Assert.True(calls.Count >= 10, $"the README's world-state section shows {calls.Count} gs calls");
        var service = WorldStateReflection.Descriptor.FindTypeByName<Google.Protobuf.Reflection.ServiceDescriptor>("WorldStateService");
        var parser = new JsonParser(JsonParser.Settings.Default);
        foreach (Match call in calls)
        {
            var method = service.FindMethodByName(call.Groups["rpc"].Value);
            Assert.True(method is not null, $"WorldStateService has no rpc '{call.Groups["rpc"].Value}'");
            var request = parser.Parse(call.Groups["json"].Value, method.InputType);
            Assert.NotEqual(0, request.CalculateSize());
        }
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "GameSystem.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No GameSystem.sln above {AppContext.BaseDirectory}.");
    }

    [GeneratedRegex(@"^eng/gs\.sh call world-state (?<rpc>\w+) '(?<json>[^']*)'", RegexOptions.Multiline)]
    private static partial Regex GsCall();
}
