package io.kiln.service.store;

import io.micronaut.core.annotation.Nullable;
import io.micronaut.data.annotation.GeneratedValue;
import io.micronaut.data.annotation.Id;
import io.micronaut.data.annotation.MappedEntity;
import java.time.Instant;

/**
 * An uploaded pretrained model: its name (unique on the server), owner, and what the weights file holds; the file
 * is {@code KilnPaths.model(id)}.
 *
 * @param format     {@code pytorch} (a torch.save zip) or {@code safetensors}
 * @param fileName   the name the file was uploaded with
 * @param tensors    how many named tensors the file holds
 * @param parameters how many numbers they hold together
 */
@MappedEntity("models")
public record ModelRow(@Id @GeneratedValue @Nullable Long id, String name, String userName, String format,
                       String fileName, long bytes, int tensors, long parameters, String sha256, boolean shared,
                       Instant createdAt) {
}
