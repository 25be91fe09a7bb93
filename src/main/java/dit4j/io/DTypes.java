package dit4j.io;

import org.bytedeco.pytorch.global.torch.ScalarType;

/** Dtype names of the two checkpoint formats: safetensors codes and PyTorch storage classes. */
final class DTypes {
    private DTypes() {}

    static ScalarType fromSafetensors(String code) {
        switch (code) {
            case "F32": return ScalarType.Float;
            case "F64": return ScalarType.Double;
            case "F16": return ScalarType.Half;
            case "BF16": return ScalarType.BFloat16;
            case "I64": return ScalarType.Long;
            case "I32": return ScalarType.Int;
            case "I16": return ScalarType.Short;
            case "I8": return ScalarType.Char;
            case "U8": return ScalarType.Byte;
            case "BOOL": return ScalarType.Bool;
            default: return null;
        }
    }

    static String toSafetensors(ScalarType t) {
        switch (t) {
            case Float: return "F32";
            case Double: return "F64";
            case Half: return "F16";
            case BFloat16: return "BF16";
            case Long: return "I64";
            case Int: return "I32";
            case Short: return "I16";
            case Char: return "I8";
            case Byte: return "U8";
            case Bool: return "BOOL";
            default: throw new IllegalArgumentException("dtype " + t + " has no safetensors code");
        }
    }

    /** {@code torch.FloatStorage} and friends. */
    static ScalarType fromStorageClass(String name) {
        switch (name) {
            case "FloatStorage": return ScalarType.Float;
            case "DoubleStorage": return ScalarType.Double;
            case "HalfStorage": return ScalarType.Half;
            case "BFloat16Storage": return ScalarType.BFloat16;
            case "LongStorage": return ScalarType.Long;
            case "IntStorage": return ScalarType.Int;
            case "ShortStorage": return ScalarType.Short;
            case "CharStorage": return ScalarType.Char;
            case "ByteStorage": return ScalarType.Byte;
            case "BoolStorage": return ScalarType.Bool;
            default: return null;
        }
    }

    static String toStorageClass(ScalarType t) {
        switch (t) {
            case Float: return "FloatStorage";
            case Double: return "DoubleStorage";
            case Half: return "HalfStorage";
            case BFloat16: return "BFloat16Storage";
            case Long: return "LongStorage";
            case Int: return "IntStorage";
            case Short: return "ShortStorage";
            case Char: return "CharStorage";
            case Byte: return "ByteStorage";
            case Bool: return "BoolStorage";
            default: throw new IllegalArgumentException("dtype " + t + " cannot be saved to a .pt file");
        }
    }

    static int elementSize(ScalarType t) {
        switch (t) {
            case Double: case Long: return 8;
            case Float: case Int: return 4;
            case Half: case BFloat16: case Short: return 2;
            default: return 1;
        }
    }
}
