<?php
final class Words {
    public const HELLO = 'hello';
}
