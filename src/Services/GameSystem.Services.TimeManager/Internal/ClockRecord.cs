using GameSystem.TimeManager.V1;
using Google.Protobuf;

namespace GameSystem.Services.TimeManager.Internal;

/// <summary>
/// What the store holds for one world: the clock plus the request ids that make retries safe.
/// Encoded as a protobuf message (fields 1-4) so it stays forward compatible.
/// </summary>
internal sealed class ClockRecord
{
    public required Clock Clock { get; init; }

    public string CreateRequestId { get; set; } = "";

    public string LastSetTimeRequestId { get; set; } = "";

    public SetClockTimeResponse? LastSetTimeResponse { get; set; }

    /// <summary>What the last change was, so watchers on any instance can report it.</summary>
    public ClockChangeKind LastChange { get; set; } = ClockChangeKind.Created;

    /// <summary>For a TIME_SET change: the game seconds just before the jump.</summary>
    public long PreviousGameSeconds { get; set; }

    public byte[] ToBytes()
    {
        using var buffer = new MemoryStream();
        var output = new CodedOutputStream(buffer);
        output.WriteTag(1, WireFormat.WireType.LengthDelimited);
        output.WriteMessage(Clock);
        output.WriteTag(2, WireFormat.WireType.LengthDelimited);
        output.WriteString(CreateRequestId);
        output.WriteTag(3, WireFormat.WireType.LengthDelimited);
        output.WriteString(LastSetTimeRequestId);
        if (LastSetTimeResponse is not null)
        {
            output.WriteTag(4, WireFormat.WireType.LengthDelimited);
            output.WriteMessage(LastSetTimeResponse);
        }

        output.WriteTag(5, WireFormat.WireType.Varint);
        output.WriteInt32((int)LastChange);
        output.WriteTag(6, WireFormat.WireType.Varint);
        output.WriteInt64(PreviousGameSeconds);
        output.Flush();
        return buffer.ToArray();
    }

    public static ClockRecord Parse(ReadOnlyMemory<byte> bytes)
    {
        var input = new CodedInputStream(bytes.ToArray());
        var clock = new Clock();
        string createRequestId = "", setTimeRequestId = "";
        SetClockTimeResponse? setTimeResponse = null;
        var lastChange = ClockChangeKind.Created;
        long previousGameSeconds = 0;
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1:
                    input.ReadMessage(clock);
                    break;
                case 2:
                    createRequestId = input.ReadString();
                    break;
                case 3:
                    setTimeRequestId = input.ReadString();
                    break;
                case 4:
                    setTimeResponse = new SetClockTimeResponse();
                    input.ReadMessage(setTimeResponse);
                    break;
                case 5:
                    lastChange = (ClockChangeKind)input.ReadInt32();
                    break;
                case 6:
                    previousGameSeconds = input.ReadInt64();
                    break;
                default:
                    input.SkipLastField();
                    break;
            }
        }

        return new ClockRecord { Clock = clock, CreateRequestId = createRequestId, LastSetTimeRequestId = setTimeRequestId, LastSetTimeResponse = setTimeResponse, LastChange = lastChange, PreviousGameSeconds = previousGameSeconds };
    }
}
