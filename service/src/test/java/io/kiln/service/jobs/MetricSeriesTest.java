package io.kiln.service.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kiln.service.store.MetricStore.StepPoint;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Downsampling of the step series: the values of the buckets, not only their number. */
@Timeout(10)
class MetricSeriesTest {
    static List<StepPoint> points(double... losses) {
        List<StepPoint> out = new ArrayList<>();
        for (int i = 0; i < losses.length; i++) {
            out.add(new StepPoint(i / 5 + 1, i % 5 + 1, i + 1, losses[i]));
        }
        return out;
    }

    @Test
    void eachBucketIsTheMeanOfItsPointsPlacedAtItsLastStep() {
        List<StepPoint> ten = points(1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
        List<StepPoint> four = MetricSeries.downsample(ten, 4);
        // Buckets of 2, 3, 2, 3 points: [1,2], [3,4,5], [6,7], [8,9,10].
        assertEquals(List.of(1.5, 4.0, 6.5, 9.0), four.stream().map(StepPoint::loss).toList());
        assertEquals(List.of(2L, 5L, 7L, 10L), four.stream().map(StepPoint::globalStep).toList());
        assertEquals(2, four.get(3).epoch(), "the epoch and step of the bucket's last point");
        assertEquals(5, four.get(3).step());
    }

    @Test
    void pointsThatAreNotFiniteAreLeftOutOfTheMean() {
        List<StepPoint> two = MetricSeries.downsample(points(1, Double.NaN, 3, Double.NaN, Double.NaN, Double.NaN), 2);
        assertEquals(2.0, two.get(0).loss(), "NaN is left out of [1, NaN, 3]");
        assertTrue(Double.isNaN(two.get(1).loss()), "a bucket of NaNs alone is NaN");
    }

    @Test
    void fewerPointsThanAskedForOrNoLimitAreLeftAlone() {
        List<StepPoint> three = points(3, 2, 1);
        assertSame(three, MetricSeries.downsample(three, 3));
        assertSame(three, MetricSeries.downsample(three, null));
        assertSame(three, MetricSeries.downsample(three, 0));
        assertEquals(List.of(2.0), MetricSeries.downsample(three, 1).stream().map(StepPoint::loss).toList());
    }
}
