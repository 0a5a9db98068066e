package io.kiln.engine.data;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;

/**
 * A small image folder in the spirit of PyTorch's ants-and-bees tutorial data: two classes of photos of different
 * sizes (JPEG and PNG), "ants" reddish with horizontal stripes and "bees" bluish with vertical ones, so that even
 * frozen random features tell them apart. For tests and demonstrations, as {@link SyntheticData}.
 */
public final class InsectImages {
    private InsectImages() {
    }

    public static Path write(Path dataRoot, String name, int trainPerClass, int testPerClass, long seed) throws IOException {
        SplittableRandom rng = new SplittableRandom(seed);
        Path root = dataRoot.resolve(name);
        for (String part : new String[] {"train", "test"}) {
            int n = part.equals("train") ? trainPerClass : testPerClass;
            for (String cls : new String[] {"ants", "bees"}) {
                Path dir = Files.createDirectories(root.resolve(part).resolve(cls));
                for (int i = 0; i < n; i++) {
                    BufferedImage img = image(cls.equals("ants"), 50 + rng.nextInt(50), 50 + rng.nextInt(50), rng);
                    String format = i % 3 == 0 ? "png" : "jpg";
                    ImageIO.write(img, format, dir.resolve(cls + "_" + i + "." + format).toFile());
                }
            }
        }
        return root;
    }

    /** One picture: a background of the class's colour, stripes, and noise. */
    public static BufferedImage image(boolean ant, int w, int h, SplittableRandom rng) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setColor(ant ? new Color(170 + rng.nextInt(60), 60 + rng.nextInt(40), 40) : new Color(40, 80 + rng.nextInt(40),
                    170 + rng.nextInt(60)));
            g.fillRect(0, 0, w, h);
            g.setColor(ant ? new Color(60, 20, 10) : new Color(230, 220, 60));
            for (int k = rng.nextInt(6); k < (ant ? h : w); k += 10) {
                if (ant) {
                    g.fillRect(0, k, w, 4);
                } else {
                    g.fillRect(k, 0, 4, h);
                }
            }
        } finally {
            g.dispose();
        }
        for (int i = 0; i < w * h / 20; i++) {
            img.setRGB(rng.nextInt(w), rng.nextInt(h), rng.nextInt(0xFFFFFF));
        }
        return img;
    }
}
