package io.hsmkms.client.cli;

import io.hsmkms.proto.v1.ListResourceTagsRequest;
import io.hsmkms.proto.v1.Tag;
import io.hsmkms.proto.v1.TagResourceRequest;
import io.hsmkms.proto.v1.UntagResourceRequest;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "tags", description = "A key's tags.",
        subcommands = {TagCommands.Add.class, TagCommands.Remove.class, TagCommands.ListTags.class})
final class TagCommands {
    private TagCommands() {}

    @Command(name = "add", description = "Add tags, or overwrite those with the same key.")
    static final class Add extends KeyCommand {
        @Parameters(index = "1..*", arity = "1..*", paramLabel = "K=V")
        List<String> tags;

        @Override
        public Integer call() {
            TagResourceRequest.Builder request = TagResourceRequest.newBuilder().setKeyId(keyId);
            pairs(tags, "a tag").forEach((k, v) -> request.addTags(Tag.newBuilder().setTagKey(k).setTagValue(v)));
            kms().tagResource(request.build());
            return Hsmkms.ExitCodes.OK;
        }
    }

    @Command(name = "remove")
    static final class Remove extends KeyCommand {
        @Parameters(index = "1..*", arity = "1..*", paramLabel = "TAG_KEY")
        List<String> tagKeys;

        @Override
        public Integer call() {
            kms().untagResource(UntagResourceRequest.newBuilder().setKeyId(keyId).addAllTagKeys(tagKeys).build());
            return Hsmkms.ExitCodes.OK;
        }
    }

    @Command(name = "list")
    static final class ListTags extends KeyCommand {
        @Mixin
        Paging paging;

        @Override
        public Integer call() {
            ListResourceTagsRequest.Builder request = ListResourceTagsRequest.newBuilder().setKeyId(keyId);
            paging.apply(request::setLimit, request::setMarker);
            return print(kms().listResourceTags(request.build()));
        }
    }
}
