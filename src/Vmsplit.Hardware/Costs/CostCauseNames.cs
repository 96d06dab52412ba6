namespace Vmsplit.Hardware.Costs;

/// <summary>The causes' names as reports print them (kebab case, stable: JSON and CSV keys).</summary>
public static class CostCauseNames
{
    public static string Name(this CostCause c) => c switch
    {
        CostCause.PathBase => "path-base",
        CostCause.ExceptionEntryExit => "exception-entry-exit",
        CostCause.RootRegisterWrite => "root-register-write",
        CostCause.Barrier => "barrier",
        CostCause.TlbLookup => "tlb-lookup",
        CostCause.TlbRefillCacheHit => "tlb-refill-cache-hit",
        CostCause.TlbRefillCacheMiss => "tlb-refill-cache-miss",
        CostCause.TlbMaintenance => "tlb-maintenance",
        CostCause.AsidRollover => "asid-rollover",
        CostCause.Pinning => "pinning",
        CostCause.Kmap => "kmap",
        CostCause.CacheFlush => "cache-flush",
        CostCause.Memcpy => "memcpy",
        CostCause.PageZeroing => "page-zeroing",
        CostCause.FaultHandling => "fault-handling",
        CostCause.AddressConversion => "pa-va",
        CostCause.UserWork => "user-work",
        CostCause.UserAccessControl => "uaccess-control",
        _ => throw new ArgumentOutOfRangeException(nameof(c), c, "a cause without a report name"),
    };
}
