using FsCheck;
using FsCheck.Fluent;
using Microsoft.FSharp.Core;

namespace Vmsplit.Hardware.Tests;

/// <summary>Runs FsCheck properties with a fixed seed so that every run checks the same cases.</summary>
internal static class PropertyCheck
{
    public static void ForAll<T>(Gen<T> generator, Func<T, bool> property, int maxTest = 100, ulong seed = 0x5EED_2026)
    {
        Replay replay = new(new Rnd(seed, 0x9E37_79B9_7F4A_7C15UL), FSharpOption<int>.None);
        Config config = Config.QuickThrowOnFailure.WithMaxTest(maxTest).WithReplay(FSharpOption<Replay>.Some(replay));
        Check.One(config, Prop.ForAll(generator.ToArbitrary(), property));
    }
}
