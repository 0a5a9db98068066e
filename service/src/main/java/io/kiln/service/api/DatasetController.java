package io.kiln.service.api;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kiln.service.datasets.DatasetService;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Part;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.multipart.StreamingFileUpload;
import io.micronaut.security.annotation.Secured;
import io.micronaut.security.rules.SecurityRule;
import io.swagger.v3.oas.annotations.Operation;
import java.io.IOException;
import java.io.InputStream;

@Controller("/api/v1/datasets")
@Secured(SecurityRule.IS_AUTHENTICATED)
@ApiDocs.SignedIn
public class DatasetController {
    private final DatasetService datasets;

    public DatasetController(DatasetService datasets) {
        this.datasets = datasets;
    }

    @Operation(operationId = "listDatasets", summary = "The datasets in the data root, with their detected format")
    @Get
    public ArrayNode list() throws IOException {
        return datasets.list();
    }

    @Operation(operationId = "uploadDataset", summary = "Upload a dataset archive", description = "multipart: name, then "
            + "file (.zip, .tar, .tar.gz or .tgz holding IDX files, CIFAR-10 binary batches or train/<class>/ and "
            + "test/<class>/ image folders); the archive is unpacked as it arrives, within the limits of docs/limits.md")
    @ApiDocs.BadRequest
    @ApiDocs.Conflicting
    @ApiDocs.TooLargeBody
    @ApiDocs.TooMany
    @Post(consumes = MediaType.MULTIPART_FORM_DATA)
    public HttpResponse<ObjectNode> upload(@Part("name") String name, StreamingFileUpload file, HttpRequest<?> request)
            throws IOException {
        try (InputStream in = UploadInputStream.of(file, request)) {
            return HttpResponse.created(datasets.install(name, file.getFilename(), in));
        }
    }
}
