using System.Buffers.Binary;
using System.Text;

namespace Unpacker.Observability.Tests.Otlp;

/// <summary>
/// The protobuf wire format, just enough to read OTLP spans: varints, fixed 32/64-bit values and length-delimited
/// fields (strings, bytes, nested messages). Unknown fields are skipped, as protobuf requires.
/// </summary>
public ref struct ProtoReader(ReadOnlySpan<byte> buffer)
{
    private readonly ReadOnlySpan<byte> _buffer = buffer;
    private int _position;

    public enum WireType
    {
        Varint = 0,
        Fixed64 = 1,
        LengthDelimited = 2,
        Fixed32 = 5,
    }

    /// <summary>Moves to the next field; false at the end of the message.</summary>
    public bool Next(out int field, out WireType type)
    {
        if (_position >= _buffer.Length)
        {
            field = 0;
            type = default;
            return false;
        }

        var tag = ReadVarint();
        field = (int)(tag >> 3);
        type = (WireType)(tag & 7);
        return true;
    }

    public ulong ReadVarint()
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            var b = _buffer[_position++];
            value |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }

        throw new InvalidDataException($"varint longer than 10 bytes at offset {_position}");
    }

    public ulong ReadFixed64()
    {
        var value = BinaryPrimitives.ReadUInt64LittleEndian(_buffer[_position..]);
        _position += 8;
        return value;
    }

    public ReadOnlySpan<byte> ReadBytes()
    {
        var length = checked((int)ReadVarint());
        var bytes = _buffer.Slice(_position, length);
        _position += length;
        return bytes;
    }

    public string ReadString() => Encoding.UTF8.GetString(ReadBytes());

    public void Skip(WireType type)
    {
        switch (type)
        {
            case WireType.Varint:
                ReadVarint();
                break;
            case WireType.Fixed64:
                _position += 8;
                break;
            case WireType.LengthDelimited:
                ReadBytes();
                break;
            case WireType.Fixed32:
                _position += 4;
                break;
            default:
                throw new InvalidDataException($"wire type {(int)type} (groups) is not used by OTLP");
        }
    }
}
