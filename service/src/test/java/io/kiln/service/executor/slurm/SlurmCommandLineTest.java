package io.kiln.service.executor.slurm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.LocalDateTime;
import java.time.ZoneId;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** What SLURM 22.05's tools print (taken from a real single-node cluster), read as Kiln reads it. */
@Timeout(10)
class SlurmCommandLineTest {
    @Test
    void squeueLinesAreBatchJobs() {
        List<Slurm.BatchJob> jobs = SlurmCommandLine.parseJobs("""
                5|PENDING||N/A|kiln-3|Resources
                3|RUNNING|vm|2026-12-01T12:00:27|kiln-1|None
                2|TIMEOUT|vm|2026-12-01T12:00:38|kiln-2|TimeLimit
                """);
        assertEquals(3, jobs.size());
        Slurm.BatchJob pending = jobs.get(0);
        assertEquals("5", pending.id());
        assertEquals("PENDING", pending.state());
        assertEquals("Resources", pending.reason());
        assertEquals("kiln-3", pending.name());
        assertEquals("", pending.nodes());
        assertNull(pending.started(), "N/A is no time");
        Slurm.BatchJob running = jobs.get(1);
        assertEquals("vm", running.nodes());
        assertEquals(LocalDateTime.parse("2026-12-01T12:00:27").atZone(ZoneId.systemDefault()).toInstant(), running.started());
        assertEquals("TimeLimit", jobs.get(2).reason());
    }

    @Test
    void aReasonMayHoldTheSeparator() {
        Slurm.BatchJob j = SlurmCommandLine.parseJobs("7|PENDING||N/A|kiln-9|QOSMaxJobsPerUserLimit|odd\n").get(0);
        assertEquals("QOSMaxJobsPerUserLimit|odd", j.reason());
    }

    @Test
    void scontrolGivesTheEndOfAJob() {
        Slurm.BatchEnd end = SlurmCommandLine.parseScontrolJob("JobId=2 JobName=kiln-2 UserId=root(0) Priority=4294901758 "
                + "Nice=0 JobState=TIMEOUT Reason=TimeLimit Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 "
                + "ExitCode=0:15 RunTime=00:01:12 TimeLimit=00:01:00 Command=/tmp/my dir/slurm-job.sh").orElseThrow();
        assertEquals("TIMEOUT", end.state());
        assertEquals("TimeLimit", end.reason());
        assertEquals(0, end.exitCode());
        assertEquals(15, end.signal());
        Slurm.BatchEnd failed = SlurmCommandLine.parseScontrolJob("JobId=1 JobState=FAILED Reason=NonZeroExitCode "
                + "ExitCode=3:0").orElseThrow();
        assertEquals(3, failed.exitCode());
        assertEquals(0, failed.signal());
        assertTrue(SlurmCommandLine.parseScontrolJob("slurm_load_jobs error: Invalid job id specified").isEmpty());
    }

    @Test
    void sacctGivesTheEndOfAJobTheControllerForgot() {
        Slurm.BatchEnd end = SlurmCommandLine.parseSacct("CANCELLED by 0|0:15\n").orElseThrow();
        assertEquals("CANCELLED", end.state());
        assertEquals("by 0", end.reason());
        assertEquals(15, end.signal());
        assertEquals("COMPLETED", SlurmCommandLine.parseSacct("COMPLETED|0:0\n").orElseThrow().state());
        assertTrue(SlurmCommandLine.parseSacct("").isEmpty());
    }

    @Test
    void sinfoLinesAreNodes() {
        List<Slurm.Node> nodes = SlurmCommandLine.parseNodes("""
                vm|mixed|1/1/0/2|4096|512|gpu:2|gpu:1(IDX:0)|
                gpu07|idle|0/64/0/64|515000|0|gpu:a100:4(S:0-1)|gpu:a100:0(IDX:N/A)|
                """);
        assertEquals(2, nodes.size());
        Slurm.Node vm = nodes.get(0);
        assertEquals("vm", vm.name());
        assertEquals("mixed", vm.state());
        assertEquals(1, vm.cpusAllocated());
        assertEquals(2, vm.cpus());
        assertEquals(4096, vm.memoryMiB());
        assertEquals(512, vm.memoryAllocatedMiB());
        assertEquals(2, Gres.gpus(vm.gres()));
        assertEquals(1, Gres.gpus(vm.gresUsed()));
        assertEquals(4, Gres.gpus(nodes.get(1).gres()));
        assertEquals(0, Gres.gpus(nodes.get(1).gresUsed()));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {"gpu:a100:2,gpu:v100:2(IDX:0-1) | 4", "gpu:a100:2(IDX:0,2),nvme:1 | 2",
            "(null) | 0", "'' | 0"})
    void gresCountsEveryGpuType(String gres, int gpus) {
        assertEquals(gpus, Gres.gpus(gres));
    }
}
