using GameSystem.Auth.V1;
using Google.Protobuf;

namespace GameSystem.Cli.Internal;

/// <summary>
/// The tokens <c>gs login</c> obtained, kept in one file readable by its owner only (eng/gs.sh
/// puts it at <c>.run/gs-token.json</c>), as auth's <see cref="TokenSet"/> in proto3 JSON.
/// <c>gs call</c> sends the access token and, once it has expired, first spends the refresh
/// token for a new pair.
/// </summary>
internal sealed class TokenFile(string path)
{
    /// <summary>How early before expiry the access token is refreshed, so it does not expire in flight.</summary>
    public static readonly TimeSpan RefreshBefore = TimeSpan.FromSeconds(30);

    public string Path { get; } = path;

    public TokenSet? Read()
    {
        if (!File.Exists(Path))
        {
            return null;
        }

        try
        {
            return JsonParser.Default.Parse<TokenSet>(File.ReadAllText(Path));
        }
        catch (Exception ex) when (ex is InvalidProtocolBufferException or InvalidJsonException or IOException)
        {
            throw new UsageException($"the token file {Path} cannot be read ({ex.Message}); delete it and log in again.");
        }
    }

    public void Write(TokenSet tokens)
    {
        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path))!;
        Directory.CreateDirectory(directory);

        // Created owner-only before the secret goes in, never widened afterwards.
        var temporary = Path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        File.Delete(temporary);
        using (var stream = new FileStream(temporary, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(JsonFormatter.Default.Format(tokens));
        }

        File.Move(temporary, Path, overwrite: true);
    }

    public void Delete() => File.Delete(Path);
}
